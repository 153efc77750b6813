"""HTTPS serving for the ARM emulator: a ``ThreadingHTTPServer`` with the TLS handshake per thread."""

from __future__ import annotations

import json
import ssl
import sys
import threading
import traceback
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from localdev.arm_emulator.api import Reply, Request, dispatch
from localdev.arm_emulator.state import ArmError, ArmState, Settings
from localdev.https_server import HTTPSServer, server_context
from localdev.tls import LocalTLS


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    wbufsize = 64 * 1024
    server: _TLSServer

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; ``GET /_emulator/requests`` is the log."""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=dict(self.headers.items()),
            body=self.rfile.read(length) if length > 0 else b"",
        )
        try:
            reply = dispatch(self.server.state, request)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            error = ArmError(500, "InternalServerError", f"Emulator error: {exc}")
            reply = Reply(500, error.body())
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        data = b"" if reply.body is None else json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            if reply.body is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-ms-request-id", str(uuid.uuid4()))
            self.send_header("x-ms-correlation-request-id", str(uuid.uuid4()))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True


class _TLSServer(HTTPSServer):
    """The HTTPS server with the emulator's state."""

    def __init__(self, address: tuple[str, int], state: ArmState, context: ssl.SSLContext) -> None:
        self.state = state
        super().__init__(address, _Handler, context)


class ArmEmulator:
    """A running ARM emulator: its origin ``url`` (the ARM endpoint), ``state`` and ``shutdown()``."""

    def __init__(self, httpd: _TLSServer, thread: threading.Thread) -> None:
        self._httpd = httpd
        self._thread = thread
        self.state = httpd.state
        host, port = httpd.socket.getsockname()[:2]
        self.url = f"https://{f'[{host}]' if ':' in host else host}:{port}"

    def shutdown(self) -> None:
        """Stop serving, close the listening socket and wait for the serving thread."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> ArmEmulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


def start_arm_emulator(
    *, host: str = "127.0.0.1", port: int = 0, tls: LocalTLS, settings: dict[str, Any] | None = None
) -> ArmEmulator:
    """Start the emulator on ``host:port`` (0 picks a free port), serving in a daemon thread;
    ``settings`` (as for ``PUT /_emulator/settings``) are the baseline ``reset`` goes back to."""
    context = server_context(tls.cert_file, tls.key_file)
    baseline = Settings().updated(settings or {})
    httpd = _TLSServer((host, port), ArmState(baseline=baseline), context)
    thread = threading.Thread(target=httpd.serve_forever, name="arm-emulator", daemon=True)
    thread.start()
    return ArmEmulator(httpd, thread)
