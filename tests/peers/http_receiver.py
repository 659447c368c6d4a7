"""A real HTTP receiver on loopback for delivery tests: it can be up, failing (503), slow or down.

It behaves like a well-made partner API: it deduplicates on the ``Idempotency-Key`` header, so
``accepted`` holds what the partner really took once, and ``duplicates`` counts redeliveries it dropped.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.mode = "ok"  # ok | fail503 | slow | reject400
        self.slow_seconds = 2.0
        self.accepted: dict[str, bytes] = {}
        self.duplicates = 0
        self.requests: Counter[str] = Counter()
        self.tokens_issued = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/inbox"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def start(self, port: int = 0) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if self.path.startswith("/token"):
                    with receiver._lock:
                        receiver.tokens_issued += 1
                    self._answer(200, b'{"access_token":"t-%d","expires_in":600}' % receiver.tokens_issued)
                    return
                key = self.headers.get("Idempotency-Key", "")
                receiver.requests[receiver.mode] += 1
                if receiver.mode == "fail503":
                    self._answer(503, b'{"error":"maintenance"}')
                    return
                if receiver.mode == "reject400":
                    self._answer(400, b'{"error":"bad payload"}')
                    return
                if receiver.mode == "slow":
                    time.sleep(receiver.slow_seconds)
                with receiver._lock:
                    if key in receiver.accepted:
                        receiver.duplicates += 1
                    else:
                        receiver.accepted[key] = body
                self._answer(201, b'{"receipt":"r-' + key[:16].encode() + b'"}')

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
