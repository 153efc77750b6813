"""Verified rollouts with the real adapters: Table Storage on Azurite, Foundry on its emulator
(version selector, per-version addressing by ``agent_reference``), role grants on the ARM
emulator. Traffic is checked on the emulator's selector and by calling the agent unpinned."""

from __future__ import annotations

import pytest

from deployer.deploy import rollback
from deployer.deploy.start import handle_event
from deployer.entrypoints.acr_events import parse_event
from deployer.rollout import holds
from tests.integration.rollout_helpers import (
    answered_by,
    calls,
    deploy,
    image,
    notified,
    project,
    push,
    rollout_context,
    selector,
    settle,
)
from tests.registry_seed import pushed_event

pytestmark = pytest.mark.integration


@pytest.fixture
def ctx(stack, http, monkeypatch, emulator_settings):
    yield from rollout_context(stack, http, monkeypatch, emulator_settings)


def test_traffic_stays_on_the_old_version_until_the_smoke_test_passes_then_moves(ctx, http):
    first = deploy(ctx, "chat", "1.0.0")
    assert first.status == "verified" and selector(ctx, "chat") == [("1", 100)]
    # Without a selector the platform routes to the newest active version: the new one, once up.
    project(ctx).agents.update_details("chat", {"agent_endpoint": {"version_selector": None}})
    second = deploy(ctx, "chat", "1.1.0")
    assert second.status == "verified" and second.smoke.status == "passed" and second.smoke.attempts == 1
    assert [h.status for h in second.history] == ["pending", "creating", "verifying", "verified"]
    assert second.traffic_before is not None and [
        (r.version, r.percentage) for r in second.traffic_before
    ] == [("1", 100)]
    # Version 1 is pinned before version 2 is created; version 2 answers its smoke test by
    # agent_reference, and only then gets the traffic.
    assert calls(http, ctx, "chat") == [
        ("create", None),
        ("call", "1"),
        ("selector", (("1", 100),)),
        ("selector", None),
        ("selector", (("1", 100),)),
        ("create", None),
        ("call", "2"),
        ("selector", (("2", 100),)),
    ]
    assert selector(ctx, "chat") == [("2", 100)] and answered_by(ctx, "chat") == "2"
    assert ctx.store.get(first.id).status == "superseded"
    assert "deployment.verified" in notified(ctx, second)


def test_a_failed_smoke_test_leaves_the_traffic_notifies_unhealthy_and_holds_the_digest(
    ctx, http, emulator_settings
):
    deploy(ctx, "chat", "2.0.0")
    emulator_settings(image_replies={image("chat", "2.1.0"): {"status": 500, "text": "model not reachable"}})
    bad = deploy(ctx, "chat", "2.1.0")
    assert bad.status == "unhealthy" and bad.error.code == "smoke_test_failed"
    assert (
        bad.smoke.attempts == 2
        and bad.smoke.http_status == 500
        and "model not reachable" in bad.smoke.excerpt
    )
    assert "traffic stayed on version 1" in bad.error.message
    assert selector(ctx, "chat") == [("1", 100)] and answered_by(ctx, "chat") == "1"
    assert ("selector", (("2", 100),)) not in calls(http, ctx, "chat")
    assert "deployment.unhealthy" in notified(ctx, bad)
    again = handle_event(ctx, parse_event(pushed_event(image("chat", "2.1.0"), digest=bad.digest)))
    assert [(r.status, r.reason) for r in again] == [("skipped", "held")]


def test_the_invocations_protocol_is_smoke_tested_on_its_own_endpoint(ctx, http, emulator_settings):
    deploy(ctx, "worker", "1")
    good = deploy(ctx, "worker", "2")
    assert good.status == "verified" and selector(ctx, "worker") == [("2", 100)]
    assert ("call", "2") in calls(http, ctx, "worker")
    emulator_settings(image_replies={image("worker", "3"): {"text": "I am broken"}})
    bad = deploy(ctx, "worker", "3")
    assert bad.status == "unhealthy" and "$.output is" in bad.smoke.detail
    assert selector(ctx, "worker") == [("2", 100)]


def test_a_slow_agent_times_out_its_smoke_test(ctx, emulator_settings):
    deploy(ctx, "slow", "1")
    emulator_settings(image_replies={image("slow", "2"): {"delay_s": 3}})
    bad = deploy(ctx, "slow", "2")
    assert bad.status == "unhealthy" and bad.smoke.detail == "no answer within 1 s"
    assert selector(ctx, "slow") == [("1", 100)]


def test_a_crash_between_moving_traffic_and_recording_it_converges(ctx, http, monkeypatch):
    deploy(ctx, "chat", "3.0.0")
    store, original, together = ctx.store, ctx.store.update, ctx.store.update_together
    died = []

    def dies_once_after_the_traffic_moved(deployments):
        if any(d.status == "verified" and d.version == "2" for d in deployments) and not died:
            died.append(True)
            raise SystemExit("process killed")

    def update(deployment):
        dies_once_after_the_traffic_moved([deployment])
        return original(deployment)

    def update_together(deployments):  # the takeover and the supersede are one write
        dies_once_after_the_traffic_moved(deployments)
        return together(deployments)

    monkeypatch.setattr(store, "update", update)
    monkeypatch.setattr(store, "update_together", update_together)
    record = push(ctx, "chat", "3.1.0")
    with pytest.raises(SystemExit):
        settle(ctx)
    assert store.get(record.id).status == "verifying" and selector(ctx, "chat") == [("2", 100)]
    ctx.clock.offset += 120  # the dead tick's lease ends
    settle(ctx)
    done = store.get(record.id)
    assert done.status == "verified" and "already had the traffic" in done.history[-1].note
    log = calls(http, ctx, "chat")
    assert log.count(("selector", (("2", 100),))) == 1 and log.count(("call", "2")) == 1


def test_a_rollback_by_traffic_is_instant_and_later_pushes_of_the_digest_are_held(ctx, http):
    first = deploy(ctx, "chat", "4.0.0")
    second = deploy(ctx, "chat", "4.1.0")
    created = [c for c in calls(http, ctx, "chat") if c[0] == "create"]
    back = rollback.rollback_by_traffic(ctx, ctx.config.agent("chat"), first, requested_by="ops")
    assert back.status == "active" and back.version == "1"
    assert [c for c in calls(http, ctx, "chat") if c[0] == "create"] == created
    assert selector(ctx, "chat") == [("1", 100)] and answered_by(ctx, "chat") == "1"
    assert ctx.store.get(second.id).status == "superseded"
    again = handle_event(ctx, parse_event(pushed_event(image("chat", "4.1.0"), digest=second.digest)))
    assert [(r.status, r.reason) for r in again] == [("skipped", "held")]
    holds.pause(ctx, "chat", by="ops")
    assert push(ctx, "chat", "4.2.0").reason == "paused"


def test_a_failed_preflight_names_what_is_missing_and_creates_no_version(ctx, http, emulator_settings):
    emulator_settings(model_deployments=["gpt-4o"], connections=["search"])
    failed = deploy(ctx, "modeled", "1")
    assert failed.status == "failed" and failed.error.code == "preflight_failed"
    assert "no model deployment 'gpt-5-mini'" in failed.error.message
    assert calls(http, ctx, "modeled") == []  # no version, no selector change
    emulator_settings(model_deployments=["gpt-4o", "gpt-5-mini"])
    assert deploy(ctx, "modeled", "2").status == "verified"
