"""Builders for tests that start one more dev host on the session stack's services, with its
own app settings (and often its own config file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localdev.stack import Stack


def extra_host(stack: Stack, name: str, env: dict[str, str], **options: Any) -> Iterator[str]:
    """Yield the URL of dev host ``name`` (``env`` over the stack's settings); stop it after."""
    try:
        yield stack.start_devhost(name, port=0, env=env, **options)
    finally:
        stack.stop_process(name)


def config_file(tmp_path_factory: pytest.TempPathFactory, name: str, text: str) -> Path:
    """A ``deployer.yaml`` holding ``text`` in a fresh folder."""
    path = tmp_path_factory.mktemp(name) / "deployer.yaml"
    path.write_text(text)
    return path
