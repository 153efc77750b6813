"""Canary rollouts through the poll, with hand-written fakes: steps on the selector and in the
history, a smoke re-run before each step, aborts (automatic, by hand, by a newer push),
promotion by hand, and convergence after crashes and concurrent ticks."""

from dataclasses import replace

import pytest

from deployer.config.parser import ConfigError, parse_config
from deployer.context import Context
from deployer.deploy import canary_control
from deployer.deploy.poll import poll_once
from deployer.domain.errors import Refused
from deployer.domain.platform import InvokeReply
from deployer.rollout import canary
from tests.unit.builders import (
    CANARY,
    CANARY_CONFIG,
    canary_context,
    live,
    push,
    run,
    serving,
    stable_then_canary,
    tick,
)

FAILING = InvokeReply(status_code=500, body="boom", latency_ms=3.0)


@pytest.fixture
def ctx() -> Context:
    return canary_context()


def shifts(record):
    return [h.percentage for h in record.history if h.status == "traffic_shifted"]


def shifted_events(ctx, record):
    return sorted(
        e.event_id
        for e in ctx.store.notifications.values()
        if e.event_type == "deployment.traffic_shifted" and e.deployment_id == record.id
    )


def test_the_first_version_has_nothing_to_canary_against_and_is_verified(ctx):
    first = live(ctx, push(ctx, "v1", 1))
    assert first.status == "verified" and first.canary is None and shifts(first) == []


def test_a_canary_goes_through_each_step_on_the_selector_in_the_history_and_notified(ctx):
    second = stable_then_canary(ctx)
    assert second.status == "canary" and serving(ctx) == [("2", 10), ("1", 90)]
    run(ctx, 6)  # 30 s: the next step is due
    assert serving(ctx) == [("2", 50), ("1", 50)]
    run(ctx, 6)
    done = ctx.store.records[second.id]
    assert done.status == "verified" and serving(ctx) == [("2", 100)]
    assert shifts(done) == [10, 50, 100]
    assert [h.status for h in done.history] == [
        "pending", "creating", "verifying", "canary",
        "traffic_shifted", "traffic_shifted", "traffic_shifted", "verified",
    ]  # fmt: skip
    assert shifted_events(ctx, done) == [f"{done.id}.traffic_shifted.{p}" for p in (10, 100, 50)]
    data = [e.data for e in ctx.store.notifications.values() if e.event_id.endswith("shifted.50")]
    assert data and '"percentage":50' in data[0]
    # The smoke test ran once to verify, and again before each later step.
    assert [r.version for _, r in ctx.platform.invoked].count("2") == 3
    assert ctx.store.get_agent("vbot").canary_id is None


def test_a_failed_smoke_re_run_aborts_back_to_the_stable_version_in_one_update(ctx):
    second = stable_then_canary(ctx)
    run(ctx, 6)
    assert serving(ctx) == [("2", 50), ("1", 50)]
    ctx.platform.replies[("vbot", "2")] = FAILING
    writes = ctx.platform.count("set_traffic")
    run(ctx, 6)
    done = ctx.store.records[second.id]
    assert done.status == "rolled_back" and done.reason == "smoke_test_failed"
    assert serving(ctx) == [("1", 100)] and ctx.platform.count("set_traffic") == writes + 1
    assert [h.digest for h in ctx.store.get_agent("vbot").holds] == [done.digest]
    assert "deployment.rolled_back" in {e.event_type for e in ctx.store.notifications.values()}
    assert "vbot" in ctx.store.agents and not ctx.store.open


def test_abort_if_tolerates_fewer_failures_than_it_names(ctx):
    second = stable_then_canary(ctx, agent="tolerant")
    ctx.platform.replies[("tolerant", "2")] = FAILING
    while ctx.store.records[second.id].canary.smoke_failures == 0:
        tick(ctx)
    assert ctx.store.records[second.id].status == "canary" and serving(ctx, "tolerant") == [
        ("2", 10),
        ("1", 90),
    ]
    ctx.platform.replies.pop(("tolerant", "2"))
    run(ctx, 20)
    assert ctx.store.records[second.id].status == "verified"


def test_abort_by_hand_rolls_back_and_holds_the_digest(ctx):
    second = stable_then_canary(ctx)
    done = canary_control.abort(ctx, second.id, by="ops")
    assert done.status == "rolled_back" and done.reason == "aborted" and serving(ctx) == [("1", 100)]
    assert ctx.store.get_agent("vbot").holds[0].by == "ops"
    assert done.error is not None and f"its digest {done.digest} is held" in done.error.message
    with pytest.raises(canary_control.NotInCanary):
        canary_control.abort(ctx, second.id)
    with pytest.raises(Refused, match="no deployment nope"):
        canary_control.promote(ctx, "nope")


def test_promote_by_hand_skips_the_remaining_steps(ctx):
    second = stable_then_canary(ctx)
    done = canary_control.promote(ctx, second.id, by="ops")
    assert done.status == "verified" and serving(ctx) == [("2", 100)] and shifts(done) == [10, 100]
    assert "promoted by ops" in done.history[-2].note


def test_a_newer_push_during_a_canary_aborts_it_to_the_stable_version_first(ctx):
    second = stable_then_canary(ctx)
    third = push(ctx, "v3", 3)
    old = ctx.store.records[second.id]
    assert old.status == "rolled_back" and old.reason == "superseded_by_newer_deployment"
    assert ctx.store.get_agent("vbot").holds == ()
    assert old.error is not None and "held" not in old.error.message
    assert [(r.version, r.percentage) for r in ctx.store.records[third.id].traffic_before] == [("1", 100)]
    new = live(ctx, third)
    assert new.status == "canary" and serving(ctx) == [("3", 10), ("1", 90)]


def test_a_crash_after_recording_a_step_converges_on_the_selector(ctx, monkeypatch):
    second = stable_then_canary(ctx)
    original = ctx.platform.set_traffic
    died = []

    def dies_once(endpoint, agent, traffic):
        if not died and traffic[0].percentage == 50:
            died.append(1)
            raise SystemExit("killed")
        original(endpoint, agent, traffic)

    monkeypatch.setattr(ctx.platform, "set_traffic", dies_once)
    with pytest.raises(SystemExit):
        run(ctx, 6)
    assert shifts(ctx.store.records[second.id]) == [10, 50] and serving(ctx) == [("2", 10), ("1", 90)]
    run(ctx, 24)  # the dead tick's lease ends; the next look writes the recorded split, then goes on
    done = ctx.store.records[second.id]
    assert done.status == "verified" and shifts(done) == [10, 50, 100] and serving(ctx) == [("2", 100)]
    assert ctx.platform.calls.count(("set_traffic", "vbot", "2:50,1:50")) == 1


def test_an_abort_racing_a_step_converges_on_the_stable_version(ctx, monkeypatch):
    second = stable_then_canary(ctx)
    original = ctx.platform.set_traffic

    def abort_first(endpoint, agent, traffic):
        if traffic[0].percentage == 50:  # a person aborts just before the step's selector write
            monkeypatch.setattr(ctx.platform, "set_traffic", original)
            canary.abort_deployment(
                ctx, ctx.config.agent("vbot"), ctx.store.records[second.id], reason="aborted", hold=True
            )
        original(endpoint, agent, traffic)

    monkeypatch.setattr(ctx.platform, "set_traffic", abort_first)
    run(ctx, 6)
    assert ctx.store.records[second.id].status == "rolled_back" and serving(ctx) == [("1", 100)]


def test_two_ticks_at_once_take_each_step_once(ctx):
    second = stable_then_canary(ctx)
    ctx.clock.advance(30)
    for _ in range(2):
        poll_once(ctx, concurrency=4, budget_s=20)
    assert shifts(ctx.store.records[second.id]) == [10, 50]


def test_a_restart_keeps_the_canary_from_its_record(ctx):
    second = stable_then_canary(ctx)
    restarted = replace(ctx, platform=ctx.platform)  # a new process: only the store and the platform remain
    run(restarted, 12)
    assert restarted.store.records[second.id].status == "verified"


@pytest.mark.parametrize(
    ("rollout", "problem"),
    [
        ({**CANARY, "steps": [50, 10, 100]}, "must rise"),
        ({**CANARY, "steps": [10, 50]}, "end at 100"),
        ({**CANARY, "abort_if": {"smoke_failures": 0}}, "smoke_failures"),
        ({**CANARY, "extra": 1}, "unknown field"),
        ({"strategy": "verified", "steps": [100]}, "only used with strategy: canary"),
    ],
)
def test_bad_canary_settings_are_refused(rollout, problem):
    raw = {**CANARY_CONFIG, "agents": [{**CANARY_CONFIG["agents"][0], "rollout": rollout}]}
    with pytest.raises(ConfigError, match=problem):
        parse_config(raw, {}, resolver=lambda host: ["93.184.216.34"])


def test_promote_to_must_name_another_agent():
    raw = {**CANARY_CONFIG, "agents": [{**CANARY_CONFIG["agents"][0], "promote_to": {"agent": "nobody"}}]}
    with pytest.raises(ConfigError, match="must be another configured agent"):
        parse_config(raw, {}, resolver=lambda host: ["93.184.216.34"])
