from __future__ import annotations

import pytest

from deployer.config import parse_config
from deployer.context import Context
from tests.unit.fakes import FakeClock, FakePlatform, FakeStore

REGISTRY = "myregistry.azurecr.io"
DIGEST = "sha256:" + "a" * 64

CONFIG = {
    "registries": [REGISTRY],
    "agents": [
        {
            "name": "support-bot",
            "repository": "agents/support-bot",
            "tags": "semver:>=1.0.0 <2.0.0",
            "keep_versions": 2,
            "timeout_s": 60,
        },
        {"name": "support-bot-canary", "repository": "agents/support-bot", "tags": "v*"},
        {"name": "echo", "repository": "agents/echo", "tags": "v*"},
    ],
}


@pytest.fixture
def ctx() -> Context:
    return Context(
        config=parse_config(CONFIG, {}),
        store=FakeStore(),
        platform=FakePlatform(),
        clock=FakeClock(),
        default_endpoint="https://example.services.ai.azure.com/api/projects/p",
    )
