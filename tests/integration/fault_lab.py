"""The fault matrix's lab: one local stack, a shared webhook receiver, and the isolated
:class:`~tests.integration.invariants.Site` installations made on it (``test_fault_matrix.py``,
``test_delivery_faults.py``)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from localdev.stack import Stack
from tests.integration.invariants import Receiver, Site, call

BASE_CONFIG = (
    "registries: [myregistry.azurecr.io]\ngrant_runtime_role: false\n"
    "agents:\n  - {name: idle, repository: idle}\n"
)


class Lab:
    """The module's stack, its shared webhook receiver, and the sites made on it."""

    def __init__(self, stack: Stack, receiver: Receiver, config_dir: Path) -> None:
        self.stack, self.receiver, self.config_dir = stack, receiver, config_dir
        assert stack.info is not None
        self.info = stack.info

    def site(
        self,
        name: str,
        *,
        hooks: list[tuple[Receiver, str]] | None = None,
        stack: Stack | None = None,
        agent_options: tuple[str, ...] = (),
    ) -> Site:
        return Site(
            name,
            stack or self.stack,
            self.receiver,
            self.config_dir,
            hooks=hooks or (),
            agent_options=agent_options,
        )

    def emulator(self, **settings: Any) -> None:
        """Change the Foundry emulator's settings (the others stay as they are)."""
        tls = ssl.create_default_context(cafile=self.info.foundry_ca_bundle)
        status, body = call("PUT", f"{self.info.foundry_origin}/_emulator/settings", body=settings, tls=tls)
        assert status == 200, body

    def set_faults(self, faults: list[dict[str, Any]]) -> None:
        self.emulator(faults=faults)


@contextmanager
def running_lab(state: Path) -> Iterator[Lab]:
    """A stack (no timers: each site's dev hosts run their own) and a receiver, in ``state``."""
    config = state / "base.yaml"
    config.write_text(BASE_CONFIG)
    with Stack(config_path=config, state_dir=state, run_timers=False) as stack:
        receiver = Receiver()
        yield Lab(stack, receiver, state)
        receiver.down()
