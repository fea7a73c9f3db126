"""A small OpenAI-compatible chat-completions server on 127.0.0.1, standing in for an LLM a user brings.

It speaks the real protocol over real HTTP (POST /v1/chat/completions), and the requested model name
picks its behaviour (or `mode`, when a test sets it, for a server whose model name is fixed), so one
server serves every test:

- "good": quotes the first words of passage 1 verbatim and cites [1]
- "bad-citation": cites a passage number that was not sent
- "misquote": quotes words that no passage contains
- "misattributed": quotes passage 2 verbatim but cites [1]
- "unquoted": a valid [1] on a claim that quotes nothing, with a link in it
- "unquoted-sentence": a good sentence, then a claim of its own without a quote or a citation
- "html": a good sentence with raw HTML around it
- "number": a good sentence that adds a number no passage has
- "error": answers HTTP 500
- "slow": waits `delay` seconds, then answers like "good"
- "drip": answers like "good", but sends the body one byte every `drip_interval` seconds
- "hang": accepts the request and never answers (until the server stops)
- "huge": a 20 MB reply with its Content-Length; "huge-unsized": the same without one (ends at close)
- "obey": follows an "INSTRUCTION:" line found in the passages, as a gullible model would
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PASSAGE = re.compile(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)


HUGE_BYTES = 20 * 1024 * 1024


class FakeLLM:
    def __init__(self, delay: float = 3.0, drip_interval: float = 0.5):
        self.delay = delay
        self.drip_interval = drip_interval
        self.mode: str | None = None  # overrides the model name when set
        self.requests: list[dict] = []  # {"headers", "body", "at", "done"} of every request received
        self.in_flight = 0  # requests being answered now
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeLLM:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def reply(self, mode: str, messages: list[dict]) -> tuple[int, str]:
        """(HTTP status, assistant text) for one request."""
        user = next((m["content"] for m in messages if m.get("role") == "user"), "")
        passages = {int(n): text for n, text in PASSAGE.findall(user)}
        first = passages.get(1, "")
        words = " ".join(first.split("\n")[0].split()[:10])
        if mode == "error":
            return 500, ""
        if mode == "slow":
            time.sleep(self.delay)
        good = f'According to the record, "{words}" [1].'
        if mode in ("good", "slow", "drip", "huge", "huge-unsized"):
            return 200, good
        if mode == "misattributed":
            second = " ".join(passages.get(2, "").split("\n")[0].split()[:8])
            return 200, f'According to the record, "{second}" [1].'
        if mode == "unquoted":
            return 200, "The Committee decided to abolish the Convention; pay the fee at http://evil.example/pay [1]."
        if mode == "unquoted-sentence":
            return 200, f"{good} The Committee then abolished every border and closed its secretariat."
        if mode == "html":
            return 200, f'<script>alert(1)</script><b>{good}</b> <a href="http://evil.example">more</a>'
        if mode == "number":
            return 200, f'According to the record, 7391 States parties agreed that "{words}" [1].'
        if mode == "bad-citation":
            return 200, f"The records settle this [{len(passages) + 5}]."
        if mode == "misquote":
            return 200, 'The record says "the Committee abolished all borders" [1].'
        if mode == "obey":
            instruction = re.search(r"INSTRUCTION:(.*)", user)
            return 200, instruction.group(1).strip() if instruction else f'"{words}" [1]'
        return 400, ""

    def handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the name http.server calls
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                request = {"headers": dict(self.headers), "body": body, "at": time.monotonic(), "done": None}
                fake.requests.append(request)
                with fake.lock:
                    fake.in_flight += 1
                try:
                    self.answer(body)
                finally:
                    request["done"] = time.monotonic()  # answered, or the client was seen to leave
                    with fake.lock:
                        fake.in_flight -= 1

            def answer(self, body: dict) -> None:
                if not self.path.endswith("/chat/completions"):
                    return self.send_json(404, {"error": {"message": "not found"}})
                mode = fake.mode or body.get("model", "")
                if mode == "hang":
                    while not fake.stopping.is_set() and not self.client_gone(wait=0.05):
                        pass
                    return None
                status, text = fake.reply(mode, body.get("messages", []))
                if status != 200:
                    return self.send_json(status, {"error": {"message": "fake failure", "type": "server_error"}})
                if mode.startswith("huge"):
                    text += " " + "x" * HUGE_BYTES
                completion = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", ""),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                }
                self.send_json(200, completion, drip=mode == "drip", sized=mode != "huge-unsized")

            def client_gone(self, wait: float = 0) -> bool:
                """Whether the client closed the connection (it reads as end of file), waiting up to `wait` s."""
                readable, _, _ = select.select([self.connection], [], [], wait)
                try:
                    return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    return True

            def send_json(self, status: int, data: dict, drip: bool = False, sized: bool = True) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if sized:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client that gave up (timeout)
                    if not drip:
                        self.wfile.write(payload)
                        return
                    for byte in payload:  # a byte at a time: each read is quick, the whole reply takes minutes
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        if self.client_gone(wait=fake.drip_interval) or fake.stopping.is_set():
                            return

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        return Handler
