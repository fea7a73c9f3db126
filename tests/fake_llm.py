"""A small OpenAI-compatible chat-completions server on 127.0.0.1, standing in for an LLM a user brings.

It speaks the real protocol over real HTTP (POST /v1/chat/completions), and the requested model name
picks its behaviour, so one server serves every test:

- "good": quotes the first words of passage 1 verbatim and cites [1]
- "bad-citation": cites a passage number that was not sent
- "misquote": quotes words that no passage contains
- "error": answers HTTP 500
- "slow": waits `delay` seconds, then answers like "good"
- "obey": follows an "INSTRUCTION:" line found in the passages, as a gullible model would
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PASSAGE = re.compile(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)


class FakeLLM:
    def __init__(self, delay: float = 3.0):
        self.delay = delay
        self.requests: list[dict] = []  # {"headers": {...}, "body": {...}} of every request received
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
        if mode in ("good", "slow"):
            return 200, f'According to the record, "{words}" [1].'
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
                fake.requests.append({"headers": dict(self.headers), "body": body})
                if not self.path.endswith("/chat/completions"):
                    return self.send_json(404, {"error": {"message": "not found"}})
                status, text = fake.reply(body.get("model", ""), body.get("messages", []))
                if status != 200:
                    return self.send_json(status, {"error": {"message": "fake failure", "type": "server_error"}})
                self.send_json(
                    200,
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", ""),
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                        ],
                        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                    },
                )

            def send_json(self, status: int, data: dict) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client that gave up (timeout)
                    self.wfile.write(payload)

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        return Handler
