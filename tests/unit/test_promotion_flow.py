"""Promotion between projects, with hand-written fakes: a verified image is deployed to the
target agent by digest (its own rollout), linked both ways, once, however often it is asked."""

import base64
from dataclasses import replace

import pytest

from deployer.config.parser import parse_config
from deployer.context import Context
from deployer.deploy import manual, promotion
from deployer.domain.imageref import ImageRef
from deployer.entrypoints.http.requests import DeployRequest
from deployer.ports import InvokeReply
from tests.unit.conftest import PROJECT_ID, REGISTRY
from tests.unit.fake_registry import FakeRegistry
from tests.unit.fakes import FakeClock, FakePlatform, FakeRoleAssignments, FakeStore
from tests.unit.test_canary_flow import CANARY, SMOKE, live, run
from tests.unit.test_rollout_flow import push, serving

PROD = "https://example.services.ai.azure.com/api/projects/prod"
CONFIG = {
    "registries": [REGISTRY],
    "project_resource_id": PROJECT_ID,
    "agents": [
        {
            "name": "vbot",
            "repository": "agents/vbot",
            "smoke_test": SMOKE,
            "promote_to": {"agent": "vbot-prod", "project_endpoint": PROD},
        },
        {"name": "vbot-prod", "repository": "agents/vbot-prod", "smoke_test": SMOKE, "rollout": CANARY},
    ],
    "webhooks": [
        {"url": "https://hooks.example.com/all", "secret": "whsec_" + base64.b64encode(b"q" * 32).decode()}
    ],
}


@pytest.fixture
def ctx() -> Context:
    return Context(
        config=parse_config(CONFIG, {}, resolver=lambda host: ["93.184.216.34"]),
        store=FakeStore(),
        platform=FakePlatform(),
        clock=FakeClock(),
        default_endpoint="https://example.services.ai.azure.com/api/projects/staging",
        roles=FakeRoleAssignments(),
    )


def test_a_verified_deployment_is_promoted_by_digest_and_linked_both_ways(ctx):
    staged = live(ctx, push(ctx, "v1", 1))
    assert staged.status == "verified" and staged.promoted_to
    target = ctx.store.records[staged.promoted_to]
    assert (target.agent, target.source, target.promoted_from) == ("vbot-prod", "promotion", staged.id)
    assert target.image == f"{REGISTRY}/agents/vbot@{staged.digest}" and target.project_endpoint == PROD
    assert [h.status for h in staged.history][-1] == "promoted"
    assert "deployment.promoted" in {e.event_type for e in ctx.store.notifications.values()}
    done = live(ctx, target, agent="vbot-prod")
    assert done.status == "verified" and serving(ctx, "vbot-prod") == [("1", 100)]


def test_a_manual_deploy_by_tag_is_promoted_by_the_digest_its_registry_resolved(ctx):
    registry = FakeRegistry()
    digest = registry.push(f"{REGISTRY}/agents/vbot:1.0.0")
    ctx = replace(ctx, registry=registry)
    request = DeployRequest(agent="vbot", image=ImageRef.parse(f"{REGISTRY}/agents/vbot:1.0.0"))
    staged = live(ctx, manual.deploy(ctx, request, requested_by="ana", key=None).deployment)
    assert (staged.status, staged.digest) == ("verified", digest)
    target = ctx.store.records[staged.promoted_to]
    assert target.image == f"{REGISTRY}/agents/vbot@{digest}"
    assert target.image_check.result == "found"  # the promotion is checked too, by digest
    assert registry.lookups == [(REGISTRY, "agents/vbot", "1.0.0"), (REGISTRY, "agents/vbot", digest)]


def test_an_unhealthy_deployment_is_not_promoted(ctx):
    ctx.platform.replies[("vbot", "1")] = InvokeReply(status_code=500, body="no", latency_ms=1.0)
    bad = live(ctx, push(ctx, "v1", 1))
    run(ctx, 6)
    assert bad.status == "unhealthy" and bad.promoted_to is None
    assert not [d for d in ctx.store.records.values() if d.agent == "vbot-prod"]
    with pytest.raises(promotion.NotPromotable):
        promotion.promote_to_agent(ctx, "vbot", "vbot-prod")


def test_promotion_on_demand_is_idempotent(ctx):
    staged = live(ctx, push(ctx, "v1", 1))
    again = promotion.promote_to_agent(ctx, "vbot", "vbot-prod", requested_by="ops")
    assert again.id == staged.promoted_to
    assert ctx.platform.calls.count(("create_version", "vbot-prod", again.image)) == 1
    with pytest.raises(LookupError):
        promotion.promote_to_agent(ctx, "vbot", "nobody")
