"""Preflight before create_version: missing model deployments and connections fail the
deployment with preflight_failed, naming them, and no version is created."""

import pytest

from deployer.config.parser import ConfigError, parse_config
from deployer.context import Context
from deployer.deploy import preflight
from deployer.deploy.start import handle_event
from deployer.domain.agents import Preflight
from deployer.domain.errors import PlatformError
from tests.unit.builders import pushed
from tests.unit.conftest import PROJECT_ID, REGISTRY
from tests.unit.fakes import FakeClock, FakePlatform, FakeRoleAssignments, FakeStore

SMOKE = {"input": "Reply with READY", "expect": {"contains": "READY"}}
MODEL = {"MODEL_DEPLOYMENT_NAME": "gpt-5-mini"}
AGENTS = [
    {"name": "checked", "repository": "agents/checked", "smoke_test": SMOKE, "environment_variables": MODEL},
    {
        "name": "listed",
        "repository": "agents/listed",
        "environment_variables": MODEL,
        "preflight": {"model_deployments": ["gpt-4o", "embed"], "connections": ["search"]},
    },
    {"name": "plain", "repository": "agents/plain", "environment_variables": MODEL},
    {
        "name": "off",
        "repository": "agents/off",
        "smoke_test": SMOKE,
        "preflight": False,
        "environment_variables": MODEL,
    },
]


@pytest.fixture
def ctx() -> Context:
    return Context(
        config=parse_config(
            {"registries": [REGISTRY], "project_resource_id": PROJECT_ID, "agents": AGENTS}, {}
        ),
        store=FakeStore(),
        platform=FakePlatform(model_deployments={"gpt-5-mini", "embed"}, connections=set()),
        clock=FakeClock(),
        default_endpoint="https://example.services.ai.azure.com/api/projects/p",
        roles=FakeRoleAssignments(),
    )


def push(ctx, agent):
    [record] = handle_event(ctx, pushed("v1", repository=f"agents/{agent}"))
    return record


def test_preflight_is_on_for_verified_rollouts_and_where_configured():
    agents = {
        a.name: a
        for a in parse_config(
            {"registries": [REGISTRY], "project_resource_id": PROJECT_ID, "agents": AGENTS}, {}
        ).agents
    }
    assert agents["checked"].preflight == Preflight()
    assert agents["listed"].preflight == Preflight(
        model_deployments=("gpt-4o", "embed"), connections=("search",)
    )
    assert agents["plain"].preflight is None and agents["off"].preflight is None
    assert preflight.model_deployments(agents["checked"]) == ("gpt-5-mini",)
    assert preflight.model_deployments(agents["listed"]) == ("gpt-4o", "embed")


def test_a_present_model_deployment_lets_the_version_be_created(ctx):
    assert push(ctx, "checked").status == "creating"
    assert ("has_model_deployment", "gpt-5-mini", "") in ctx.platform.calls


def test_each_missing_thing_is_named_and_no_version_is_created(ctx):
    failed = push(ctx, "listed")
    assert failed.status == "failed" and failed.error.code == "preflight_failed"
    assert "no model deployment 'gpt-4o', no connection 'search'" in failed.error.message
    assert "embed" not in failed.error.message and "preflight" in failed.error.hint
    assert ctx.platform.count("create_version") == 0 and ctx.platform.count("set_traffic") == 0
    assert failed.id not in ctx.store.open


def test_a_missing_model_deployment_named_by_the_variable_fails_a_verified_rollout(ctx):
    ctx.platform.model_deployments = set()
    failed = push(ctx, "checked")
    assert failed.error.code == "preflight_failed" and "'gpt-5-mini'" in failed.error.message
    assert ctx.platform.count("create_version") == 0


def test_without_preflight_nothing_is_looked_up(ctx):
    ctx.platform.model_deployments = set()
    assert push(ctx, "plain").status == "creating" and push(ctx, "off").status == "creating"
    assert ctx.platform.count("has_model_deployment") == 0


def test_an_unavailable_platform_during_preflight_leaves_the_record_pending_for_the_poll(ctx, monkeypatch):
    def unavailable(endpoint, name):
        raise PlatformError(code="ServiceUnavailable", message="down", status_code=503, retryable=True)

    monkeypatch.setattr(ctx.platform, "has_model_deployment", unavailable)
    with pytest.raises(PlatformError):
        push(ctx, "checked")
    [pending] = ctx.store.records.values()
    assert pending.status == "pending" and pending.id in ctx.store.open


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yes", "agents[0].preflight: must be true, false or a mapping"),
        ({"models": []}, "agents[0].preflight.models: unknown field"),
        ({"connections": "search"}, "agents[0].preflight.connections: must be a list of names"),
    ],
)
def test_preflight_mistakes_are_named(value, expected):
    raw = {
        "registries": [REGISTRY],
        "project_resource_id": PROJECT_ID,
        "agents": [{"name": "a", "repository": "r/a", "preflight": value}],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, {})
    assert any(expected in p for p in caught.value.problems), caught.value.problems
