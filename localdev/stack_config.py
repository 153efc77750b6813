"""What the local stack configures before it starts: free ports, the dev host's keys, and the
stand-ins' settings (which platform behaviours they reproduce)."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

#: The variable that sets each fixed port of ``make run``.
PORT_VARIABLES = {
    "table": "AZURITE_TABLE_PORT",
    "emulator": "FOUNDRY_EMULATOR_PORT",
    "deployer": "DEPLOYER_PORT",
}

#: Foundry emulator settings the stack pins to the emulator's earlier behaviour, because the app
#: does not cope with the platform's yet (see docs/platform-contract.md). None now: the app
#: resolves ``@latest``, sends the preview header and enables its protocols on the endpoint. Only
#: versions kept busy by sessions stay off, as the emulator's own default (``session_linger_s``).
APP_COMPAT_FOUNDRY: dict[str, Any] = {}


#: Session lifetime the stack uses with ``LOCAL_STACK_FAITHFUL=1`` (field reports: 5 to 60 minutes).
FAITHFUL_SESSION_LINGER_S = 300


def faithful() -> bool:
    """``LOCAL_STACK_FAITHFUL=1``: stacks run the stand-ins as the platform behaves, none of the
    earlier behaviours kept for the app (keys checked, versions busy after a call), to see what the
    app still has to handle."""
    return os.environ.get("LOCAL_STACK_FAITHFUL") == "1"


def foundry_compat_settings() -> dict[str, Any]:
    """The Foundry settings a stack starts from: ``APP_COMPAT_FOUNDRY``, or the platform's."""
    if faithful():
        return {"session_linger_s": FAITHFUL_SESSION_LINGER_S}
    return dict(APP_COMPAT_FOUNDRY)


class PortInUse(RuntimeError):
    """A fixed port of the stack is taken; the message names the variable that moves it."""


def check_ports_free(ports: Mapping[str, int]) -> None:
    """Raise :class:`PortInUse` for the first of ``ports`` (name to port; 0: any) in use."""
    for name, port in ports.items():
        if port and not _free(port):
            variable = PORT_VARIABLES.get(name, name)
            raise PortInUse(
                f"port {port} ({name}) is in use on 127.0.0.1: stop what listens there or set "
                f"{variable} to a free port"
            )


def _free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def new_keys() -> dict[str, str]:
    """A fresh function key and Event Grid system key for one run of the stack."""
    return {"function_key": secrets.token_urlsafe(32), "eventgrid_key": secrets.token_urlsafe(32)}


def config_scopes(config_path: Path) -> list[str]:
    """The project resource ids a deployer config names (the scopes it grants roles on)."""
    try:
        document = yaml.safe_load(config_path.read_text())
    except (OSError, yaml.YAMLError):
        return []
    if not isinstance(document, dict):
        return []
    entries = [document, *(a for a in document.get("agents") or [] if isinstance(a, dict))]
    return sorted({str(e["project_resource_id"]) for e in entries if e.get("project_resource_id")})
