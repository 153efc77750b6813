"""Builders for tests that start one more dev host on the session stack's services, with its
own app settings (and often its own config file)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from localdev.stack import Stack
from tests.integration.rollout_helpers import PROJECT_ID, READY, REGISTRY


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


def own_table_and_project(stack: Stack) -> dict[str, str]:
    """App settings for a fresh table and a fresh Foundry project of the stack's emulator."""
    assert stack.info is not None
    return {
        "DEPLOYER_TABLE_NAME": f"t{uuid.uuid4().hex[:12]}",
        "FOUNDRY_PROJECT_ENDPOINT": f"{stack.info.foundry_origin}/api/projects/p{uuid.uuid4().hex[:8]}",
    }


def canary_host_env(stack: Stack, folder: Path, agent: str) -> dict[str, str]:
    """App settings for a dev host of its own: one agent rolling out by canary (10, 50, 100 every
    3 s after its smoke test), a fresh table and project, a poll every second."""
    config = {
        "registries": [REGISTRY],
        "project_resource_id": PROJECT_ID,
        "agents": [
            {
                "name": agent,
                "repository": f"agents/{agent}",
                "smoke_test": READY,
                "rollout": {"strategy": "canary", "steps": [10, 50, 100], "step_interval_s": 3},
            }
        ],
    }
    path = folder / f"{agent}.yaml"
    path.write_text(yaml.safe_dump(config))
    return {"DEPLOYER_CONFIG": str(path), **own_table_and_project(stack), "POLL_SCHEDULE": "*/1 * * * * *"}


def one_webhook_config(agent: str, webhook: dict[str, str]) -> str:
    """A ``deployer.yaml`` with one agent (``agents/<agent>``, no runtime role) and one webhook."""
    config = {
        "registries": ["myregistry.azurecr.io"],
        "grant_runtime_role": False,
        "agents": [{"name": agent, "repository": f"agents/{agent}"}],
        "webhooks": [webhook],
    }
    return yaml.safe_dump(config, sort_keys=False)
