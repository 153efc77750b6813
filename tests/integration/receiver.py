"""A webhook receiver for the integration tests: records what it gets and answers as told."""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "whsec_" + base64.b64encode(b"integration-secret-32-bytes-long").decode()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A webhook receiver on loopback: records every POST and answers from a per-path script
    (each entry used once, the last one repeating; default 200). Answers are bounded in time."""

    def __init__(self, *, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.received: list[Received] = []
        self.script: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}
        self.delay_s = 0.0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, 0), self._handler())
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme, self.host = ("https" if tls else "http"), host
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.server.server_address[1]}{path}"

    def answer(self, path: str, *answers: int | tuple[int, dict[str, str], bytes]) -> None:
        self.script[path] = [a if isinstance(a, tuple) else (a, {}, b"") for a in answers]

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path.split("?")[0] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            script = self.script.get(path) or [(200, {}, b"")]
            return script.pop(0) if len(script) > 1 else script[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.received.append(Received(self.path, headers, body))
                time.sleep(receiver.delay_s)
                status, extra, payload = receiver._next(self.path.split("?")[0])
                self.send_response(status)
                for name, value in {"Content-Length": str(len(payload)), **extra}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
