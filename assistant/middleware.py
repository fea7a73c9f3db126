"""ASGI middleware that wraps the whole web app, outside FastAPI's own error handling, so that nothing escapes it.

- SecurityHeaders: every response carries them, 500s from Starlette's ServerErrorMiddleware and 413s included.
- RequestLimits: a body larger than MAX_BODY_BYTES is answered 413 without being kept in memory, a body that
  does not arrive within BODY_TIMEOUT_S is answered 408, and HEAD is answered as GET without a body.
"""

from __future__ import annotations

import json

import anyio
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The page loads only its own scripts and styles (none inline), and no one may frame it.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# The largest request the service needs: the chat form's history may hold 200,000 characters, up to 12 bytes
# each once URL-encoded (a 4-byte character as %XX%XX%XX%XX): 2.4 MB. 100 MB bodies once took the server to 2.4 GB.
MAX_BODY_BYTES = 4 * 1024 * 1024
# A body larger than the limit is read and dropped (never kept) up to this much, so that the client, still
# sending, can read the 413; past it the connection is closed.
MAX_DRAINED_BYTES = 256 * 1024 * 1024
BODY_TIMEOUT_S = 30  # a body of 1 MB takes well under a second even on a slow line


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every HTTP response, errors and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestLimits:
    """Reads the request body up front, within MAX_BODY_BYTES and BODY_TIMEOUT_S, and replays it to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD":  # as GET; uvicorn sends no body for the HEAD it received
            scope = {**scope, "method": "GET"}
        declared = declared_length(scope)
        if declared is not None and declared > MAX_BODY_BYTES:
            await drain(receive)
            await refuse(send, 413, too_large_message(declared))
            return
        try:
            with anyio.fail_after(BODY_TIMEOUT_S):
                body, complete = await read_body(receive)
        except TimeoutError:
            await refuse(send, 408, f"the request body did not arrive within {BODY_TIMEOUT_S} s: send it at once")
            return
        if body is None:
            await drain(receive)
            await refuse(send, 413, too_large_message(None))
            return
        await self.app(scope, replay(body, complete, receive), send)


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def read_body(receive: Receive) -> tuple[bytes | None, bool]:
    """(body, whether the client sent all of it); body None when it ran past MAX_BODY_BYTES."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None, False
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True


async def drain(receive: Receive) -> None:
    """Read and drop the rest of an over-large body, within limits of size and time."""
    dropped = 0
    with anyio.move_on_after(BODY_TIMEOUT_S):
        while dropped <= MAX_DRAINED_BYTES:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return
            dropped += len(message.get("body", b""))


def replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then defers to the client's connection."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent or not complete:
            return await receive() if sent else {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def too_large_message(size: int | None) -> str:
    told = f"is {size:,} bytes" if size is not None else "is larger than that"
    return (
        f"the request body {told}; the limit is {MAX_BODY_BYTES:,} bytes: send a shorter question "
        "or fewer earlier turns in `history`"
    )


async def refuse(send: Send, status: int, message: str) -> None:
    payload = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
