"""HTTPS serving for the ARM emulator (``localdev.https_server``): requests become ``Request``
values, replies are sent as JSON with ARM's correlation header."""

from __future__ import annotations

import json
import sys
import traceback
import uuid
from typing import Any

from localdev.arm_emulator.api import Reply, Request, dispatch
from localdev.arm_emulator.state import ArmError, ArmState, Settings
from localdev.https_server import ServingThread, StandInHandler, TLSServer
from localdev.tls import LocalTLS


class _Handler(StandInHandler):
    def serve(self) -> None:
        try:
            reply = dispatch(self.server.state, self.read_request(Request))
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            error = ArmError(500, "InternalServerError", f"Emulator error: {exc}")
            reply = Reply(500, error.body())
        headers = {"x-ms-correlation-request-id": str(uuid.uuid4()), **reply.headers}
        if reply.body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        data = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send(reply.status, data, headers)


class ArmEmulator(ServingThread):
    """A running ARM emulator: its origin ``url`` (the ARM endpoint), ``state`` and ``shutdown()``."""

    state: ArmState


def start_arm_emulator(
    *, host: str = "127.0.0.1", port: int = 0, tls: LocalTLS, settings: dict[str, Any] | None = None
) -> ArmEmulator:
    """Start the emulator on ``host:port`` (0 picks a free port), serving in a daemon thread;
    ``settings`` (as for ``PUT /_emulator/settings``) are the baseline ``reset`` goes back to."""
    baseline = Settings().updated(settings or {})
    return ArmEmulator(TLSServer((host, port), _Handler, ArmState(baseline=baseline), tls), "arm-emulator")
