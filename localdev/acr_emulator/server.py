"""HTTPS serving for the registry stand-in: requests become ``Request`` values, replies are sent
with their own content type (manifests are bytes, not JSON), ``HEAD`` without a body."""

from __future__ import annotations

import json
import sys
import traceback
from http import HTTPStatus
from typing import Any

from localdev.acr_emulator import admin, api
from localdev.acr_emulator.state import RegistryState
from localdev.acr_emulator.wire import JSON_TYPE, RegistryError, Reply, Request
from localdev.https_server import ServingThread, StandInHandler, TLSServer
from localdev.tls import LocalTLS

_SECRET_FIELDS = ("access_token", "refresh_token", "password")


def dispatch(state: RegistryState, request: Request) -> Reply:
    """Route to the admin API or, logging the call, the registry API (:class:`Dropped`: an
    injected fault closes the connection without an answer)."""
    if request.path == admin.ADMIN_PREFIX or request.path.startswith(admin.ADMIN_PREFIX + "/"):
        return admin.handle(state, request)
    fault = state.take_fault(request.method, request.path)
    if fault is not None and fault.drop:
        state.log(log_entry(request, None))
        raise Dropped(request.path)
    reply = fault.error().reply() if fault is not None else api.handle(state, request)
    state.log(log_entry(request, reply.status))
    return reply


class Dropped(Exception):
    """An injected fault: the request gets no answer, its connection is closed."""


def log_entry(request: Request, status: int | None) -> dict[str, Any]:
    """The request as the log shows it: secrets masked, JSON and form bodies parsed."""
    return {**request.log_entry(_logged_body(request)), "status": status}


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
        try:
            reply = dispatch(self.server.state, self.read_request(Request))
        except Dropped:
            self.close_connection = True
            return
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            error = RegistryError(HTTPStatus.INTERNAL_SERVER_ERROR, "UNKNOWN", f"Stand-in error: {exc}")
            reply = error.reply()
        headers = dict(reply.headers)
        if reply.body or reply.content_type:
            headers["Content-Type"] = reply.content_type or JSON_TYPE
        self.send(reply.status, reply.body, headers)


class RegistryServer(ServingThread):
    """A running stand-in: ``url`` (its origin), ``state``, ``registry_endpoint()``, ``shutdown()``."""

    state: RegistryState

    def registry_endpoint(self, login_server: str) -> str:
        """The endpoint to give ``ContainerRegistryClient`` for registry ``login_server``."""
        return f"{self.url}/{login_server.lower()}"


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
