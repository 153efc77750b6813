"""HTTPS serving for the emulator: a ``ThreadingHTTPServer`` with TLS handshakes per thread."""

from __future__ import annotations

import json
import ssl
import sys
import threading
import traceback
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from localdev.foundry_emulator import admin, api
from localdev.foundry_emulator.errors import ApiError, not_found
from localdev.foundry_emulator.registry_pull import RegistryPull
from localdev.foundry_emulator.settings import Settings, apply_settings_update
from localdev.foundry_emulator.state import EmulatorState
from localdev.foundry_emulator.wire import Reply, Request, error_reply
from localdev.https_server import HTTPSServer, server_context
from localdev.tls import LocalTLS


def dispatch(state: EmulatorState, request: Request) -> Reply:
    """Route a request to the admin API or the project API."""
    if request.path == admin.ADMIN_PREFIX or request.path.startswith(admin.ADMIN_PREFIX + "/"):
        return admin.handle(state, request)
    if api.PROJECT_PATH.match(request.path):
        return api.handle(state, request)
    return error_reply(not_found(f"No route for {request.path}."))


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP requests into ``Request`` values and ``Reply`` values into HTTP replies."""

    protocol_version = "HTTP/1.1"
    timeout = 60
    wbufsize = 64 * 1024  # headers and body leave in one write (flushed after each request)
    server: _TLSServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet; ``GET /_emulator/requests`` is the log."""

    def _serve(self) -> None:
        try:
            reply = dispatch(self.server.state, self._read_request())
        except ApiError as error:
            reply = error_reply(error)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            reply = error_reply(ApiError(500, "InternalServerError", f"Emulator error: {exc}"))
        self._send(reply)

    def _read_request(self) -> Request:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        return Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={key: value for key, value in self.headers.items()},
            body=self.rfile.read(length) if length > 0 else b"",
        )

    def _send(self, reply: Reply) -> None:
        data = json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-ms-request-id", str(uuid.uuid4()))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True


class _TLSServer(HTTPSServer):
    """The HTTPS server with the emulator's state."""

    def __init__(self, address: tuple[str, int], state: EmulatorState, context: ssl.SSLContext) -> None:
        self.state = state
        super().__init__(address, _Handler, context)


class EmulatorServer:
    """A running emulator: its origin ``url``, its ``state`` and ``shutdown()``."""

    def __init__(self, httpd: _TLSServer, thread: threading.Thread, state: EmulatorState) -> None:
        self._httpd = httpd
        self._thread = thread
        self.state = state
        host, port = httpd.socket.getsockname()[:2]
        host_text = f"[{host}]" if ":" in host else host
        self.url = f"https://{host_text}:{port}"
        """The origin, e.g. ``https://127.0.0.1:8443`` (no trailing slash)."""

    @property
    def port(self) -> int:
        """The TCP port the emulator listens on."""
        return int(self._httpd.socket.getsockname()[1])

    def project_endpoint(self, project: str) -> str:
        """Return the Foundry project endpoint for ``project`` (it exists on first use)."""
        return f"{self.url}/api/projects/{quote(project, safe='')}"

    def shutdown(self) -> None:
        """Stop serving, close the listening socket and wait for the serving thread."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


def start_emulator(
    *, host: str = "127.0.0.1", port: int = 0, tls: LocalTLS, settings: dict[str, Any] | None = None
) -> EmulatorServer:
    """Start the emulator on ``host:port`` (0 picks a free port), serving in a daemon thread.

    ``settings`` (as for ``PUT /_emulator/settings``) are the baseline ``reset`` goes back to.
    """
    context = server_context(tls.cert_file, tls.key_file)
    baseline = apply_settings_update(Settings(), settings or {})
    state = EmulatorState(baseline=baseline, pull=RegistryPull(tls.ca_bundle))
    httpd = _TLSServer((host, port), state, context)
    thread = threading.Thread(target=httpd.serve_forever, name="foundry-emulator", daemon=True)
    thread.start()
    return EmulatorServer(httpd, thread, state)
