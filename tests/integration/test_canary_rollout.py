"""Canary rollouts and promotion with the real adapters: Table Storage on Azurite, Foundry on
its emulator (FixedRatio rules on the version selector; two projects under one origin)."""

from __future__ import annotations

import time
import uuid

import pytest

from deployer.config.parser import parse_config
from deployer.context import Context
from deployer.deploy import canary_control, promotion
from deployer.deploy.poll import poll_once
from deployer.rollout import holds
from tests.integration import rollout_helpers as verified
from tests.integration.rollout_helpers import READY, calls, image, push, rollout_context, selector

pytestmark = pytest.mark.integration


#: A fresh table and project, as the verified-rollout tests have; ``cctx`` builds on it.
@pytest.fixture
def base_ctx(stack, http, monkeypatch, emulator_settings):
    yield from rollout_context(stack, http, monkeypatch, emulator_settings)


CANARY = {
    "strategy": "canary",
    "steps": [10, 50, 100],
    "step_interval_s": 20,
    "abort_if": {"smoke_failures": 1},
}


@pytest.fixture
def cctx(base_ctx, stack):
    prod = f"{stack.info.foundry_origin}/api/projects/p{uuid.uuid4().hex[:8]}"
    config = {
        **verified.CONFIG,
        "agents": [
            {"name": "bird", "repository": "agents/bird", "smoke_test": READY, "rollout": CANARY},
            {
                "name": "stage",
                "repository": "agents/stage",
                "smoke_test": READY,
                "promote_to": {"agent": "prod", "project_endpoint": prod},
            },
            {"name": "prod", "repository": "agents/prod", "smoke_test": READY, "project_endpoint": prod},
        ],
    }
    return Context(
        config=parse_config(config, {}, resolver=lambda host: ["93.184.216.34"]),
        store=base_ctx.store,
        platform=base_ctx.platform,
        clock=base_ctx.clock,
        default_endpoint=base_ctx.default_endpoint,
        roles=base_ctx.roles,
    )


def until(ctx, record_id, done, *, rounds=40, step_s=5.0):
    """Poll, ``step_s`` of deployer time a round, until ``done(record)``."""
    for _ in range(rounds):
        record = ctx.store.get(record_id)
        if done(record):
            return record
        ctx.clock.offset += step_s
        poll_once(ctx, concurrency=4, budget_s=20)
        time.sleep(0.1)
    raise AssertionError(f"{record_id} stayed {ctx.store.get(record_id).status}")


def selectors(http, ctx, agent):
    return [what for kind, what in calls(http, ctx, agent) if kind == "selector"]


def test_a_canary_goes_10_50_100_on_the_selector_and_in_the_history(cctx, http):
    ctx = cctx
    verified.deploy(ctx, "bird", "1")
    second = push(ctx, "bird", "2")
    until(ctx, second.id, lambda d: d.status == "canary")
    assert selector(ctx, "bird") == [("2", 10), ("1", 90)]
    done = until(ctx, second.id, lambda d: d.status == "verified")
    assert [h.percentage for h in done.history if h.status == "traffic_shifted"] == [10, 50, 100]
    assert selectors(http, ctx, "bird")[-3:] == [
        (("2", 10), ("1", 90)),
        (("2", 50), ("1", 50)),
        (("2", 100),),
    ]
    assert selector(ctx, "bird") == [("2", 100)]
    events = [e.event_id for e in ctx.store.list_notifications(limit=200) if e.deployment_id == done.id]
    assert sum(".traffic_shifted." in e for e in events) == 3


def test_an_abort_at_50_returns_all_traffic_in_one_update(cctx, http):
    ctx = cctx
    verified.deploy(ctx, "bird", "1")
    second = push(ctx, "bird", "2")
    until(ctx, second.id, lambda d: d.canary is not None and d.canary.percentage == 50)
    before = len(selectors(http, ctx, "bird"))
    done = canary_control.abort(ctx, second.id, by="ops")
    assert done.status == "rolled_back" and selector(ctx, "bird") == [("1", 100)]
    assert selectors(http, ctx, "bird")[before:] == [(("1", 100),)]


def test_a_failed_smoke_re_run_aborts_and_a_push_during_a_canary_supersedes_it(cctx, emulator_settings):
    ctx = cctx
    verified.deploy(ctx, "bird", "1")
    second = push(ctx, "bird", "2")
    until(ctx, second.id, lambda d: d.status == "canary")
    third = push(ctx, "bird", "3")
    assert ctx.store.get(second.id).status == "rolled_back" and selector(ctx, "bird") == [("1", 100)]
    until(ctx, third.id, lambda d: d.status == "canary")
    emulator_settings(image_replies={image("bird", "3"): {"status": 500, "text": "broken"}})
    bad = until(ctx, third.id, lambda d: d.status == "rolled_back")
    assert bad.reason == "smoke_test_failed" and selector(ctx, "bird") == [("1", 100)]


def test_promotion_from_staging_to_production_only_after_verification(cctx):
    ctx = cctx
    staged = push(ctx, "stage", "1")
    staged = until(ctx, staged.id, lambda d: d.status == "verified" and d.promoted_to)
    steps = [h.status for h in staged.history]
    assert steps.index("verifying") < steps.index("verified") < steps.index("promoted")
    target = until(ctx, staged.promoted_to, lambda d: d.status == "verified")
    assert (target.source, target.promoted_from, target.digest) == ("promotion", staged.id, staged.digest)
    assert target.project_endpoint != staged.project_endpoint and "@sha256:" in target.image
    assert promotion.promote_to_agent(ctx, "stage", "prod").id == target.id


def test_a_paused_production_agent_takes_no_automatic_promotion_but_a_request_deploys(cctx):
    ctx = cctx
    holds.pause(ctx, "prod", by="ops")
    staged = push(ctx, "stage", "1")
    until(ctx, staged.id, lambda d: d.status == "verified" and ctx.store.list(agent="prod").items)
    for _ in range(3):  # later polls settle the verified deployment again: still nothing
        poll_once(ctx, concurrency=4, budget_s=20)
    [skipped] = ctx.store.list(agent="prod").items
    assert (skipped.status, skipped.reason, skipped.promoted_from) == ("skipped", "paused", staged.id)
    assert ctx.store.get(staged.id).promoted_to is None
    asked = promotion.promote_to_agent(ctx, "stage", "prod", requested_by="ops")
    assert asked.status == "creating" and ctx.store.get(staged.id).promoted_to == asked.id
