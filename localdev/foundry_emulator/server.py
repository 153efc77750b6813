"""HTTPS serving for the emulator (``localdev.https_server``): requests become ``Request``
values, replies are sent as JSON."""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any
from urllib.parse import quote

from localdev.foundry_emulator import admin, api
from localdev.foundry_emulator.errors import ApiError, not_found
from localdev.foundry_emulator.registry_pull import RegistryPull
from localdev.foundry_emulator.settings import Settings, apply_settings_update
from localdev.foundry_emulator.state import EmulatorState
from localdev.foundry_emulator.wire import Reply, Request, error_reply
from localdev.https_server import ServingThread, StandInHandler, TLSServer
from localdev.tls import LocalTLS


def dispatch(state: EmulatorState, request: Request) -> Reply:
    """Route a request to the admin API or the project API."""
    if request.path == admin.ADMIN_PREFIX or request.path.startswith(admin.ADMIN_PREFIX + "/"):
        return admin.handle(state, request)
    if api.PROJECT_PATH.match(request.path):
        return api.handle(state, request)
    return error_reply(not_found(f"No route for {request.path}."))


class _Handler(StandInHandler):
    def serve(self) -> None:
        try:
            reply = dispatch(self.server.state, self.read_request(Request))
        except ApiError as error:
            reply = error_reply(error)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            reply = error_reply(ApiError(500, "InternalServerError", f"Emulator error: {exc}"))
        headers = {"Content-Type": "application/json", **reply.headers}
        self.send(reply.status, json.dumps(reply.body).encode(), headers)


class EmulatorServer(ServingThread):
    """A running emulator: its origin ``url``, its ``state``, ``project_endpoint()`` and
    ``shutdown()``."""

    state: EmulatorState

    def project_endpoint(self, project: str) -> str:
        """Return the Foundry project endpoint for ``project`` (it exists on first use)."""
        return f"{self.url}/api/projects/{quote(project, safe='')}"


def start_emulator(
    *, host: str = "127.0.0.1", port: int = 0, tls: LocalTLS, settings: dict[str, Any] | None = None
) -> EmulatorServer:
    """Start the emulator on ``host:port`` (0 picks a free port), serving in a daemon thread.

    ``settings`` (as for ``PUT /_emulator/settings``) are the baseline ``reset`` goes back to.
    """
    baseline = apply_settings_update(Settings(), settings or {})
    state = EmulatorState(baseline=baseline, pull=RegistryPull(tls.ca_bundle))
    return EmulatorServer(TLSServer((host, port), _Handler, state, tls), "foundry-emulator")
