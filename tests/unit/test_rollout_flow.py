"""Verified rollouts through the poll, with hand-written fakes: traffic pinned before the version
is created, the smoke test against that version, then verified (traffic moved) or unhealthy
(traffic untouched, digest held); holds and pauses; convergence after crashes."""

import base64
from dataclasses import replace

import pytest

from deployer.config.parser import parse_config
from deployer.context import Context
from deployer.deploy import rollback
from deployer.deploy.start import start_deployment
from deployer.domain.errors import Refused
from deployer.domain.platform import InvokeReply
from deployer.domain.pushes import ImagePush
from deployer.domain.rollout_state import traffic_of
from deployer.domain.transitions import PENDING_GRACE_S
from deployer.rollout import holds
from tests.unit.builders import digest_for, push, serving, tick
from tests.unit.conftest import PROJECT_ID, REGISTRY
from tests.unit.fakes import FakeClock, FakePlatform, FakeRoleAssignments, FakeStore

SMOKE = {"protocol": "responses", "input": "Reply with READY", "expect": {"contains": "READY"}, "attempts": 3}
CONFIG = {
    "registries": [REGISTRY],
    "project_resource_id": PROJECT_ID,
    "agents": [
        {"name": "vbot", "repository": "agents/vbot", "smoke_test": SMOKE, "keep_versions": 2},
        {"name": "lax", "repository": "agents/lax", "smoke_test": SMOKE, "on_smoke_failure": "no_hold"},
        {"name": "ibot", "repository": "agents/ibot"},
    ],
    "webhooks": [
        {"url": "https://hooks.example.com/all", "secret": "whsec_" + base64.b64encode(b"q" * 32).decode()}
    ],
}
FAILING = InvokeReply(status_code=500, body='{"error": {"message": "boom"}}', latency_ms=3.0)


@pytest.fixture
def ctx() -> Context:
    return Context(
        config=parse_config(CONFIG, {}, resolver=lambda host: ["93.184.216.34"]),
        store=FakeStore(),
        platform=FakePlatform(),
        clock=FakeClock(),
        default_endpoint="https://example.services.ai.azure.com/api/projects/p",
        roles=FakeRoleAssignments(),
    )


def up(ctx, record, agent="vbot", ticks=6):
    """The platform reports the record's version active; the poll runs until nothing is due."""
    ctx.platform.set_status(agent, ctx.store.records[record.id].version, "active")
    for _ in range(ticks):
        tick(ctx)
    return ctx.store.records[record.id]


def events(ctx, record):
    return sorted({e.event_type for e in ctx.store.notifications.values() if e.deployment_id == record.id})


def test_a_first_verified_deployment_is_smoke_tested_then_given_all_the_traffic(ctx):
    first = up(ctx, push(ctx, "v1", 1))
    assert first.status == "verified" and serving(ctx) == [("1", 100)]
    assert [h.status for h in first.history] == ["pending", "creating", "verifying", "verified"]
    assert first.smoke.status == "passed" and first.smoke.attempts == 1 and "READY" in first.smoke.excerpt
    [(agent, request)] = ctx.platform.invoked
    assert (agent, request.version, request.protocol, request.payload) == (
        "vbot",
        "1",
        "responses",
        "Reply with READY",
    )
    assert ctx.store.get_agent("vbot").active_id == first.id
    assert events(ctx, first) == ["deployment.creating", "deployment.verified", "deployment.verifying"]


def test_traffic_is_pinned_to_the_serving_version_before_the_new_one_is_created(ctx):
    up(ctx, push(ctx, "v1", 1))
    ctx.platform.traffic.clear()  # the platform's default: the newest active version serves
    ctx.platform.calls.clear()
    second = push(ctx, "v2", 2)
    names = [c[0] for c in ctx.platform.calls]
    assert names.index("set_traffic") < names.index("create_version")
    assert ("set_traffic", "vbot", "1:100") in ctx.platform.calls
    assert second.traffic_before == traffic_of([("1", 100)])
    ctx.platform.replies[("vbot", "2")] = FAILING
    ctx.platform.set_status("vbot", "2", "active")
    tick(ctx)
    assert ctx.store.records[second.id].status == "verifying"
    assert serving(ctx) == [("1", 100)]  # up, but not verified: still on the old version


def test_a_passing_smoke_test_moves_all_the_traffic_and_supersedes_the_previous_one(ctx):
    first = up(ctx, push(ctx, "v1", 1))
    second = up(ctx, push(ctx, "v2", 2))
    assert second.status == "verified" and serving(ctx) == [("2", 100)]
    assert ctx.store.records[first.id].status == "superseded"
    assert ctx.platform.invoked[-1][1].version == "2"


def test_a_failing_smoke_test_leaves_the_traffic_marks_unhealthy_and_holds_the_digest(ctx):
    first = up(ctx, push(ctx, "v1", 1))
    second = push(ctx, "v2", 2)
    ctx.platform.replies[("vbot", "2")] = FAILING
    bad = up(ctx, second, ticks=10)
    assert bad.status == "unhealthy" and bad.error.code == "smoke_test_failed"
    assert "traffic stayed on version 1" in bad.error.message and "answered HTTP 500" in bad.error.message
    assert bad.smoke.status == "failed" and bad.smoke.attempts == 3 and bad.smoke.http_status == 500
    assert ctx.platform.count("invoke") == 1 + 3
    assert serving(ctx) == [("1", 100)] and ctx.store.records[first.id].status == "verified"
    assert ctx.store.get_agent("vbot").active_id == first.id
    assert [h.digest for h in ctx.store.get_agent("vbot").holds] == [digest_for(2)]
    assert "deployment.unhealthy" in events(ctx, bad) and bad.id not in ctx.store.open
    assert f"Its digest {digest_for(2)} is held" in (bad.error.hint or "")


def test_one_smoke_attempt_per_look_and_a_later_pass_verifies(ctx):
    record = push(ctx, "v1", 1)
    ctx.platform.replies[("vbot", "1")] = FAILING
    ctx.platform.set_status("vbot", "1", "active")
    tick(ctx)
    running = ctx.store.records[record.id]
    assert running.status == "verifying" and running.smoke.status == "running" and running.smoke.attempts == 1
    del ctx.platform.replies[("vbot", "1")]
    done = up(ctx, record)
    assert done.status == "verified" and done.smoke.attempts == 2 and done.smoke.detail is None


def test_a_timed_out_attempt_counts_as_failed(ctx):
    record = push(ctx, "v1", 1)
    ctx.platform.replies[("vbot", "1")] = InvokeReply(
        status_code=None, body="", latency_ms=30000.0, error="no answer within 30 s"
    )
    bad = up(ctx, record, ticks=10)
    assert bad.status == "unhealthy" and bad.smoke.detail == "no answer within 30 s"


def test_the_lease_outlasts_a_smoke_attempt(ctx):
    record = push(ctx, "v1", 1)
    ctx.platform.replies[("vbot", "1")] = FAILING
    ctx.platform.set_status("vbot", "1", "active")
    tick(ctx)
    assert ctx.platform.count("invoke") == 1
    tick(ctx, 0.5)  # the next attempt is not due yet: no second attempt at once
    assert ctx.platform.count("invoke") == 1 and record.id in ctx.store.open


def test_with_no_hold_a_failed_smoke_test_holds_nothing(ctx):
    record = push(ctx, "v1", 1, agent="lax")
    ctx.platform.replies[("lax", "1")] = FAILING
    bad = up(ctx, record, agent="lax", ticks=10)
    assert bad.status == "unhealthy" and ctx.store.get_agent("lax").holds == ()
    assert "held" not in bad.error.hint


def test_a_held_digest_is_skipped_with_held_under_any_tag_and_deploys_once_released(ctx):
    up(ctx, push(ctx, "v1", 1))
    ctx.platform.replies[("vbot", "2")] = FAILING
    up(ctx, push(ctx, "v2", 2), ticks=10)
    again = push(ctx, "v2", 2, event_id="repush")
    retagged = push(ctx, "v2-fixed", 2)
    assert (again.status, again.reason) == ("skipped", "held")
    assert (retagged.status, retagged.reason) == ("skipped", "held")
    with pytest.raises(Refused, match="is not a digest"):
        holds.release(ctx, "vbot", digest_for(2) + "\n")
    with pytest.raises(Refused, match="no agent 'nobody'"):
        holds.release(ctx, "nobody", digest_for(2))
    assert holds.release(ctx, "vbot", digest_for(2)) is True
    assert holds.release(ctx, "vbot", digest_for(2)) is False
    # the tag skipped while held deploys when pushed again: a held push takes no idempotency key
    assert push(ctx, "v2-fixed", 2, event_id="repush-after-release").status == "creating"


def test_a_paused_agent_skips_pushes_and_deploys_again_once_resumed(ctx):
    holds.pause(ctx, "ibot", by="alice")
    skipped = push(ctx, "v1", 1, agent="ibot")
    assert (skipped.status, skipped.reason) == ("skipped", "paused")
    assert ctx.platform.count("create_version") == 0
    holds.resume(ctx, "ibot")
    assert push(ctx, "v2", 2, agent="ibot").status == "creating"


def test_a_crash_between_moving_traffic_and_recording_it_converges_on_the_next_tick(ctx, monkeypatch):
    first = up(ctx, push(ctx, "v1", 1))
    record = push(ctx, "v2", 2)
    ctx.platform.calls.clear()
    ctx.platform.set_status("vbot", "2", "active")
    store, original = ctx.store, ctx.store.update

    def dies_after_the_traffic_moved(deployment):
        if deployment.status == "verified" and serving(ctx) == [("2", 100)]:
            raise SystemExit("process killed")
        return original(deployment)

    monkeypatch.setattr(store, "update", dies_after_the_traffic_moved)
    with pytest.raises(SystemExit):
        tick(ctx)
    assert store.records[record.id].status == "verifying" and serving(ctx) == [("2", 100)]
    monkeypatch.setattr(store, "update", original)
    tick(ctx, 100)  # the lease of the dead tick (timeout_s + a margin) has ended
    done = store.records[record.id]
    assert done.status == "verified" and store.records[first.id].status == "superseded"
    assert ctx.platform.count("set_traffic") == 1 and ctx.platform.count("invoke") == 1
    assert "already had the traffic" in done.history[-1].note and record.id not in store.open


def test_an_older_rollout_that_passes_after_a_newer_one_is_superseded_and_moves_nothing(ctx):
    up(ctx, push(ctx, "v1", 1))
    older = push(ctx, "v2", 2)
    ctx.clock.advance(0.01)
    newer = push(ctx, "v3", 3)
    assert newer.traffic_before == traffic_of([("1", 100)])
    up(ctx, newer)
    up(ctx, older)
    assert ctx.store.records[newer.id].status == "verified"
    assert ctx.store.records[older.id].status == "superseded" and serving(ctx) == [("3", 100)]


def test_traffic_routed_by_a_person_during_the_smoke_test_is_left_alone(ctx):
    up(ctx, push(ctx, "v1", 1))
    record = push(ctx, "v2", 2)
    ctx.platform.set_traffic("", "vbot", traffic_of([("1", 90), ("2", 10)]))  # a hand-made canary
    done = up(ctx, record)
    assert done.status == "verified" and "left as routed" in done.history[-1].note
    assert serving(ctx) == [("1", 90), ("2", 10)]


def test_retention_never_deletes_a_version_the_selector_routes_to(ctx):
    up(ctx, push(ctx, "v1", 1))
    up(ctx, push(ctx, "v2", 2))
    record = push(ctx, "v3", 3)
    ctx.platform.set_traffic("", "vbot", traffic_of([("1", 50), ("3", 50)]))  # a person's split
    up(ctx, record)  # keep_versions: 2, but version 1 still takes traffic
    assert ctx.platform.count("delete_version") == 0 and serving(ctx) == [("1", 50), ("3", 50)]


def test_an_immediate_agent_takes_the_traffic_even_with_a_selector_left_behind(ctx):
    first = push(ctx, "v1", 1, agent="ibot")
    up(ctx, first, agent="ibot")
    ctx.platform.set_traffic("", "ibot", traffic_of([("1", 100)]))  # e.g. left by a rollback
    second = up(ctx, push(ctx, "v2", 2, agent="ibot"), agent="ibot")
    assert second.status == "active" and serving(ctx, "ibot") == [("2", 100)]


def test_a_rollback_by_traffic_creates_no_version_and_holds_the_digest_rolled_away_from(ctx):
    first = up(ctx, push(ctx, "v1", 1))
    second = up(ctx, push(ctx, "v2", 2))
    created = ctx.platform.count("create_version")
    back = rollback.rollback_by_traffic(
        ctx, ctx.config.agent("vbot"), ctx.store.records[first.id], requested_by="bob"
    )
    assert back.status == "active" and back.version == "1" and back.rollout == "instant"
    assert ctx.platform.count("create_version") == created and serving(ctx) == [("1", 100)]
    assert ctx.store.records[second.id].status == "superseded"
    assert [h.digest for h in ctx.store.get_agent("vbot").holds] == [digest_for(2)]
    assert ctx.store.get_agent("vbot").active_id == back.id and back.id not in ctx.store.open


def test_a_rollback_by_traffic_that_died_before_moving_it_is_finished_by_the_poll(ctx, monkeypatch):
    first = up(ctx, push(ctx, "v1", 1))
    up(ctx, push(ctx, "v2", 2))
    monkeypatch.setattr(rollback, "finish", lambda *_: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        rollback.rollback_by_traffic(ctx, ctx.config.agent("vbot"), ctx.store.records[first.id])
    monkeypatch.undo()
    [pending] = [d for d in ctx.store.records.values() if d.rollout == "instant"]
    assert pending.status == "pending" and serving(ctx) == [("2", 100)]
    tick(ctx, PENDING_GRACE_S + 1)
    assert ctx.store.records[pending.id].status == "active" and serving(ctx) == [("1", 100)]


def test_a_rollback_to_a_deleted_version_is_left_to_a_new_version(ctx):
    first = up(ctx, push(ctx, "v1", 1))
    up(ctx, push(ctx, "v2", 2))
    ctx.platform.delete_version("", "vbot", "1")
    assert rollback.rollback_by_traffic(ctx, ctx.config.agent("vbot"), ctx.store.records[first.id]) is None
    gone = replace(ctx.store.records[first.id], version_deleted_at="2026-01-01T00:00:00.000Z")
    assert rollback.rollback_by_traffic(ctx, ctx.config.agent("vbot"), gone) is None


def test_a_rollback_by_a_new_version_holds_the_digest_rolled_away_from(ctx):
    up(ctx, push(ctx, "v1", 1, agent="ibot"), agent="ibot")
    up(ctx, push(ctx, "v2", 2, agent="ibot"), agent="ibot")
    image = ImagePush(registry=REGISTRY, repository="agents/ibot", tag="v1", digest=digest_for(1))
    start_deployment(ctx, ctx.config.agent("ibot"), image, source="rollback", requested_by="carol")
    [hold] = ctx.store.get_agent("ibot").holds
    assert (hold.digest, hold.reason, hold.by) == (digest_for(2), "rollback", "carol")
    assert push(ctx, "v2-again", 2, agent="ibot").reason == "held"
