"""HTTPS serving for the registry stand-in: requests become ``Request`` values, replies are sent
with their own content type (manifests are bytes, not JSON), ``HEAD`` without a body."""

from __future__ import annotations

import json
import sys
import time
import traceback
import uuid
from http import HTTPStatus
from typing import Any

from localdev.acr_emulator import admin, api
from localdev.acr_emulator.state import RegistryState
from localdev.acr_emulator.wire import JSON_TYPE, RegistryError, Reply, Request
from localdev.https_server import ServingThread, StandInHandler, TLSServer
from localdev.tls import LocalTLS

_SECRET_FIELDS = ("access_token", "refresh_token", "password")


def dispatch(state: RegistryState, request: Request) -> Reply:
    """Route to the admin API or, logging the call, the registry API."""
    if request.path == admin.ADMIN_PREFIX or request.path.startswith(admin.ADMIN_PREFIX + "/"):
        return admin.handle(state, request)
    fault = state.take_fault(request.method, request.path)
    reply = fault.error().reply() if fault is not None else api.handle(state, request)
    state.log(log_entry(request, reply))
    return reply


def log_entry(request: Request, reply: Reply) -> dict[str, Any]:
    """The request as the log shows it: secrets masked, JSON and form bodies parsed."""
    headers = dict(request.headers)
    for key in headers:
        if key.lower() == "authorization":
            headers[key] = headers[key].split(" ", 1)[0] + " ***"
    return {
        "time": time.time(),
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "headers": headers,
        "body": _logged_body(request),
        "status": reply.status,
    }


def _logged_body(request: Request) -> Any:
    if not request.body:
        return None
    if (request.header("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
        form = request.form()
        return {key: "***" if key in _SECRET_FIELDS and value else value for key, value in form.items()}
    try:
        return json.loads(request.body)
    except ValueError:
        return {"bytes": len(request.body)}


class _Handler(StandInHandler):
    def serve(self) -> None:
        path, query, headers, body = self.read_parts()
        request = Request(method=self.command, path=path, query=query, headers=headers, body=body)
        try:
            reply = dispatch(self.server.state, request)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            error = RegistryError(HTTPStatus.INTERNAL_SERVER_ERROR, "UNKNOWN", f"Stand-in error: {exc}")
            reply = error.reply()
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            if reply.body or reply.content_type:
                self.send_header("Content-Type", reply.content_type or JSON_TYPE)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("x-ms-request-id", str(uuid.uuid4()))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True


class RegistryServer(ServingThread):
    """A running stand-in: ``url`` (its origin), ``state``, ``registry_endpoint()``, ``shutdown()``."""

    state: RegistryState

    def registry_endpoint(self, login_server: str) -> str:
        """The endpoint to give ``ContainerRegistryClient`` for registry ``login_server``."""
        return f"{self.url}/{login_server.lower()}"

    def __enter__(self) -> RegistryServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


def start_registry(
    *, host: str = "127.0.0.1", port: int = 0, tls: LocalTLS, settings: dict[str, Any] | None = None
) -> RegistryServer:
    """Start the stand-in on ``host:port`` (0 picks a free port), serving in a daemon thread.
    It has no settings (images are seeded and faults injected through the admin API): any given
    are refused."""
    if settings:
        raise ValueError(f"the registry stand-in takes no settings, got {sorted(settings)}")
    httpd = TLSServer((host, port), _Handler, RegistryState(), tls)
    return RegistryServer(httpd, "acr-emulator")
