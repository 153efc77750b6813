"""Retention against versions Foundry will not delete yet (live sessions: 409 without force)."""

from dataclasses import replace

from deployer.deploy.poll import poll_once
from deployer.domain.clock import parse_iso
from deployer.domain.transitions import DELETE_RETRY_MIN_S
from tests.unit.tracking_steps import deploy, tick


def three_deployments(ctx):
    """support-bot (keep_versions: 2) with versions 1, 2, 3; version 1 has live sessions."""
    ctx.platform.busy.add(("support-bot", "1"))
    records = []
    for n in range(3):
        records.append(deploy(ctx, f"1.{n}.0", n))
        ctx.platform.set_status("support-bot", str(n + 1), "active")
        tick(ctx, 30)
    return [ctx.store.records[r.id] for r in records]


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
