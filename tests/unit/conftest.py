from __future__ import annotations

import pytest

from deployer.config.parser import parse_config
from deployer.context import Context
from tests.unit.fakes import FakeClock, FakePlatform, FakeRoleAssignments, FakeStore

REGISTRY = "myregistry.azurecr.io"
DIGEST = "sha256:" + "a" * 64
PROJECT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/"
    "Microsoft.CognitiveServices/accounts/foundry/projects/p"
)

CONFIG = {
    "registries": [REGISTRY],
    "project_resource_id": PROJECT_ID,
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
    return make_ctx()


def make_ctx() -> Context:
    """A context of fakes with ``CONFIG`` (the ``ctx`` fixture; a test that needs several)."""
    return Context(
        config=parse_config(CONFIG, {}),
        store=FakeStore(),
        platform=FakePlatform(),
        clock=FakeClock(),
        default_endpoint="https://example.services.ai.azure.com/api/projects/p",
        roles=FakeRoleAssignments(),
    )
