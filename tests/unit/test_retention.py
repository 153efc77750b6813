"""Retention against versions Foundry will not delete yet (live sessions: 409 without force)."""

from dataclasses import replace

from deployer.deploy.poll import poll_once, track
from deployer.domain.clock import parse_iso
from deployer.domain.transitions import DELETE_RETRY_MIN_S
from deployer.rollout.retention import retain
from tests.unit.builders import push, releases, run, tick


def three_deployments(ctx):
    """support-bot (keep_versions: 2) with versions 1, 2, 3; version 1 has live sessions."""
    ctx.platform.busy.add(("support-bot", "1"))
    return releases(ctx, 3)


def test_a_busy_version_never_holds_up_the_deployment_that_triggered_retention(ctx):
    first, _, third = three_deployments(ctx)
    assert third.status == "active" and third.id not in ctx.store.open  # its work is over
    assert first.version_delete_refused_at and not first.version_deleted_at
    next_try = parse_iso(first.version_delete_next_at)
    assert next_try - ctx.clock.now() == DELETE_RETRY_MIN_S
    assert ctx.store.open[first.id].due == next_try  # the owner's own row, for the next try
    assert [v.version for v in ctx.platform.list_versions("", "support-bot")] == ["1", "2", "3"]


def test_a_busy_version_is_tried_again_on_its_own_schedule_until_its_sessions_end(ctx):
    first, *_ = three_deployments(ctx)
    ctx.clock.advance(DELETE_RETRY_MIN_S)
    poll_once(ctx, concurrency=1, budget_s=10)
    again = ctx.store.records[first.id]
    assert again.version_delete_refused_at == first.version_delete_refused_at  # when it was first refused
    assert parse_iso(again.version_delete_next_at) > parse_iso(first.version_delete_next_at)
    ctx.platform.busy.clear()  # the sessions ended
    ctx.clock.advance(parse_iso(again.version_delete_next_at) - ctx.clock.now())
    poll_once(ctx, concurrency=1, budget_s=10)
    done = ctx.store.records[first.id]
    assert done.version_deleted_at and done.version_delete_next_at is None
    assert first.id not in ctx.store.open
    assert [v.version for v in ctx.platform.list_versions("", "support-bot")] == ["2", "3"]
    assert ctx.platform.count("delete_version") == 3


def test_a_version_busy_longer_than_retention_force_after_s_is_deleted_with_force(ctx):
    agents = tuple(replace(a, retention_force_after_s=600.0) for a in ctx.config.agents)
    ctx = replace(ctx, config=replace(ctx.config, agents=agents))
    first, *_ = three_deployments(ctx)
    while ctx.store.records[first.id].version_deleted_at is None:
        ctx.clock.advance(parse_iso(ctx.store.records[first.id].version_delete_next_at) - ctx.clock.now())
        poll_once(ctx, concurrency=1, budget_s=10)
    done = ctx.store.records[first.id]
    assert parse_iso(done.version_deleted_at) - parse_iso(done.version_delete_refused_at) >= 600
    assert ("delete_version", "support-bot", "1 force") in ctx.platform.calls
    assert [v.version for v in ctx.platform.list_versions("", "support-bot")] == ["2", "3"]


def test_a_busy_version_that_serves_again_is_not_deleted_by_its_retry(ctx):
    first, *_ = three_deployments(ctx)
    state = ctx.store.get_agent("support-bot")
    ctx.store.save_agent(replace(state, active_id=first.id))  # a rollback went back to version 1
    ctx.clock.advance(DELETE_RETRY_MIN_S)
    poll_once(ctx, concurrency=1, budget_s=10)
    assert ctx.store.records[first.id].version_delete_next_at is None and first.id not in ctx.store.open
    assert "1" in [v.version for v in ctx.platform.list_versions("", "support-bot")]


def test_retention_force_after_s_is_a_number_of_seconds_or_absent():
    from deployer.config.parser import ConfigError, parse_config

    agent = {"name": "a", "repository": "r", "grant_runtime_role": False}
    never = parse_config({"registries": ["r.azurecr.io"], "agents": [agent]}, {})
    forced = parse_config(
        {"registries": ["r.azurecr.io"], "agents": [{**agent, "retention_force_after_s": 0}]}, {}
    )
    assert never.agents[0].retention_force_after_s is None and forced.agents[0].retention_force_after_s == 0.0
    for bad in (-1, "soon", True):
        try:
            parse_config(
                {"registries": ["r.azurecr.io"], "agents": [{**agent, "retention_force_after_s": bad}]}, {}
            )
        except ConfigError as exc:
            assert exc.problems == [
                "agents[0].retention_force_after_s: must be a number of seconds (0 or more), or absent"
            ]
        else:
            raise AssertionError(f"{bad!r} accepted")


def up_and_under_way(ctx, count):
    """support-bot (keep_versions: 2): version 1 serves; ``count`` newer pushes whose versions
    Foundry reports active while their records still say creating (not looked at since)."""
    [first] = releases(ctx, 1)
    later = []
    for n in range(1, count + 1):
        ctx.clock.advance(0.01)  # one push after the other
        later.append(push(ctx, f"1.{n}.0", n, agent="support-bot"))
    tick(ctx, 2)  # their first looks: creating
    for r in later:
        ctx.platform.set_status("support-bot", r.version, "active")
    return first, later


def look_at(ctx, record):
    """The poll's look at ``record`` alone, before any other due entry."""
    ctx.clock.advance(30)
    track(ctx, ctx.store.open[record.id])


def statuses(ctx, records):
    return [ctx.store.records[r.id].status for r in records]


def versions_left(ctx):
    return [v.version for v in ctx.platform.list_versions("", "support-bot")]


def test_deployments_looked_at_oldest_first_each_take_over_and_none_fails_for_a_deleted_version(ctx):
    first, later = up_and_under_way(ctx, 4)  # versions 2 … 5, beyond keep_versions of 2
    look_at(ctx, later[0])  # version 2 settles first and applies retention
    assert statuses(ctx, later) == ["active", "creating", "creating", "creating"]
    assert versions_left(ctx) == ["2", "3", "4", "5"]  # only version 1 (superseded) was deleted
    for r in later[1:]:
        look_at(ctx, r)
    done = [ctx.store.records[r.id] for r in (first, *later)]
    assert [d.status for d in done] == ["superseded"] * 4 + ["active"] and not any(d.error for d in done)
    assert versions_left(ctx) == ["4", "5"]
    assert not ctx.store.open


def test_a_newer_deployment_settling_first_deletes_an_older_ones_version_only_once_it_is_superseded(ctx):
    first, later = up_and_under_way(ctx, 3)  # versions 2 … 4
    look_at(ctx, later[-1])  # version 4 settles first; version 2 is beyond keep_versions of 2
    assert statuses(ctx, later) == ["creating", "creating", "active"]
    assert versions_left(ctx) == ["2", "3", "4"]  # its deployment is still under way
    run(ctx, 4, 30)
    done = [ctx.store.records[r.id] for r in (first, *later)]
    assert [d.status for d in done] == ["superseded"] * 3 + ["active"]
    assert {d.reason for d in done[:3]} == {"newer_deployment_active"} and not any(d.error for d in done)
    assert versions_left(ctx) == ["3", "4"]
    assert [d.version_deleted_at is not None for d in done] == [True, True, False, False]


def test_a_late_pass_of_retention_never_deletes_the_version_that_now_serves(ctx):
    first, second = releases(ctx, 2)  # version 2 serves; version 1's deployment was superseded
    [one, _] = ctx.platform.versions["support-bot"]
    one.info = replace(one.info, created_at=10.0)  # made last (its create call died; reconciled later)
    agent = replace(ctx.config.agent("support-bot"), keep_versions=1)
    retain(ctx, agent, first)  # the pass of a settle that ran while version 1 still served
    assert ctx.store.get_agent("support-bot").active_id == second.id
    assert versions_left(ctx) == ["1", "2"] and ctx.platform.count("delete_version") == 0
