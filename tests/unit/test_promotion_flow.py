"""Promotion between projects, with hand-written fakes: a verified image is deployed to the
target agent by digest (its own rollout), linked both ways, once, however often it is asked."""

from dataclasses import replace

import pytest

from deployer.context import Context
from deployer.deploy import manual, promotion
from deployer.deploy.requests import DeployRequest
from deployer.domain.errors import Refused
from deployer.domain.imageref import ImageRef
from deployer.domain.platform import InvokeReply
from deployer.rollout import holds
from tests.unit.builders import PROD, live, promotion_context, push, run, serving
from tests.unit.conftest import REGISTRY
from tests.unit.fake_registry import FakeRegistry


@pytest.fixture
def ctx() -> Context:
    return promotion_context()


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
    with pytest.raises(Refused, match="no agent 'nobody'"):
        promotion.promote_to_agent(ctx, "vbot", "nobody")


def test_a_crash_before_the_promotion_keeps_the_open_work_and_the_next_tick_promotes(ctx, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("the host died")

    with monkeypatch.context() as patched:
        patched.setattr(promotion, "after_verified", crash)
        with pytest.raises(RuntimeError):
            live(ctx, push(ctx, "v1", 1))
    staged = next(d for d in ctx.store.records.values() if d.agent == "vbot")
    assert staged.status == "verified" and staged.promoted_to is None
    assert staged.id in ctx.store.open  # the settle step left its open work for the promotion
    run(ctx, 20, seconds=10.0)  # past the lease the dead tick held
    staged = ctx.store.records[staged.id]
    assert staged.promoted_to and staged.id not in ctx.store.open
    assert [d.promoted_from for d in ctx.store.records.values() if d.agent == "vbot-prod"] == [staged.id]


def test_a_paused_target_takes_no_automatic_promotion_but_a_request_deploys(ctx):
    holds.pause(ctx, "vbot-prod", by="ops")
    staged = live(ctx, push(ctx, "v1", 1))
    [skipped] = [d for d in ctx.store.records.values() if d.agent == "vbot-prod"]
    assert (skipped.status, skipped.reason, skipped.promoted_from) == ("skipped", "paused", staged.id)
    assert staged.promoted_to is None
    assert not [c for c in ctx.platform.calls if c[:2] == ("create_version", "vbot-prod")]
    run(ctx, 3)  # the poll settling the verified deployment again starts nothing
    assert [d.id for d in ctx.store.records.values() if d.agent == "vbot-prod"] == [skipped.id]
    asked = promotion.promote_to_agent(ctx, "vbot", "vbot-prod", requested_by="ops")  # API, CLI
    assert (asked.status, asked.source, asked.requested_by) == ("creating", "promotion", "ops")
    assert ctx.store.records[staged.id].promoted_to == asked.id
