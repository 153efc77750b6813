"""History retention on the hand-written fakes: what is deleted after how long, what is never
deleted, and the bounded batches."""

from dataclasses import replace

from deployer.deploy.history import BATCH, DAY_S, prune, prune_once
from deployer.deploy.start import handle_event
from deployer.domain.model import FINISHED_STATUSES, OPEN_STATUSES, SERVING_STATUSES, AgentState
from deployer.domain.rollout_state import Hold
from tests.unit.builders import digest_for, push, pushed, releases, tick


def four_releases(ctx):
    """support-bot (keep_versions: 2) at 1.0.0 … 1.3.0, each active in turn: versions 1 and 2
    deleted by version retention, 1.2.0 superseded (the rollback target), 1.3.0 active."""
    return releases(ctx, 4)


def owned(ctx, deployment_id):
    return sorted(key for key, owner in ctx.store.keys.items() if owner == deployment_id)


def test_finished_records_and_their_keys_go_after_the_retention_days_and_what_rollback_needs_stays(ctx):
    first, _, previous, active = four_releases(ctx)
    [ignored] = handle_event(ctx, pushed(None))
    assert owned(ctx, first.id) and owned(ctx, ignored.id)

    ctx.clock.advance(89 * DAY_S)
    assert prune(ctx, budget_s=10).records == 1  # only the ignored event: finished ones are kept 90 days
    ctx.clock.advance(2 * DAY_S)
    prune(ctx, budget_s=10)

    # Gone: 1.0.0 and 1.1.0 (their versions deleted), and support-bot-canary's skipped records.
    assert set(ctx.store.records) == {previous.id, active.id}
    assert set(ctx.store.keys.values()) == {previous.id, active.id}  # their keys stay with them


def test_ignored_and_refused_events_go_after_a_week_while_finished_deployments_stay(ctx):
    first, *_ = four_releases(ctx)
    [ignored] = handle_event(ctx, pushed(None))
    [refused] = handle_event(ctx, pushed("1.9.0", registry="evil.azurecr.io"))

    ctx.clock.advance(6 * DAY_S)
    assert prune_once(ctx).records == 0
    ctx.clock.advance(2 * DAY_S)
    assert prune_once(ctx).records == 2

    assert ignored.id not in ctx.store.records and refused.id not in ctx.store.records
    assert first.id in ctx.store.records


def test_an_open_deployment_is_never_deleted_however_old(ctx):
    record = push(ctx, "1.0.0", 0, agent="support-bot")
    tick(ctx, 2)
    assert ctx.store.records[record.id].status == "creating"

    ctx.clock.advance(400 * DAY_S)
    prune(ctx, budget_s=10)

    assert ctx.store.records[record.id].status == "creating" and owned(ctx, record.id)


def test_the_deployments_an_agent_row_names_stay(ctx):
    first, second, third, *_ = releases(ctx, 5)  # versions 1 to 3 deleted: only the row keeps them
    state = ctx.store.get_agent("support-bot")
    held = Hold(digest=digest_for(0), reason="rolled_back", at=first.created_at, deployment_id=first.id)
    ctx.store.save_agent(replace(state, holds=(held,), canary_id=second.id, awaiting_id=third.id))

    ctx.clock.advance(100 * DAY_S)
    prune(ctx, budget_s=10)

    assert {first.id, second.id, third.id} <= set(ctx.store.records)
    assert not [d for d in ctx.store.records.values() if d.agent == "support-bot-canary"]  # the rest went


def test_a_served_deployment_whose_version_still_exists_stays_for_a_rollback_by_version(ctx):
    ctx.store.save_agent(AgentState(name="echo"))
    records = []
    for n in range(3):  # echo keeps the default 5 versions: none deleted
        [record] = handle_event(ctx, pushed(f"v{n}", digest=digest_for(n), repository="agents/echo"))
        ctx.platform.set_status("echo", str(n + 1), "active")
        tick(ctx, 30)
        records.append(record)

    ctx.clock.advance(100 * DAY_S)
    prune(ctx, budget_s=10)

    assert all(r.id in ctx.store.records for r in records)


def test_a_long_backlog_goes_in_bounded_passes(ctx):
    for n in range(2 * BATCH + 50):
        handle_event(ctx, pushed(None, event_id=f"evt-untagged-{n}", digest=digest_for(n)))
    ctx.clock.advance(8 * DAY_S)

    first = prune_once(ctx)
    assert (first.records, first.more) == (BATCH, True)
    rest = prune(ctx, budget_s=10)

    assert (rest.records, rest.passes, rest.more) == (BATCH + 50, 2, False)
    assert ctx.store.records == {} and ctx.store.keys == {}


def test_delivered_notifications_go_after_a_week_dead_ones_after_the_retention_days_pending_never(ctx):
    entries = {state: _entry(ctx, state) for state in ("delivered", "dead", "pending")}

    ctx.clock.advance(8 * DAY_S)
    assert prune_once(ctx).notifications == 1
    assert entries["delivered"].id not in ctx.store.notifications
    ctx.clock.advance(90 * DAY_S)
    assert prune_once(ctx).notifications == 1

    assert list(ctx.store.notifications) == [entries["pending"].id]


def test_a_manual_deploys_idempotency_key_goes_with_its_record(ctx):
    from deployer.deploy.idempotency import IdempotencyKey, remember, take

    [ignored] = handle_event(ctx, pushed(None))
    key = IdempotencyKey(scope="deploy|alice", key="k-1", body_sha256="0" * 64)
    assert take(ctx.store, key) is not None
    remember(ctx.store, key, ignored.id)

    ctx.clock.advance(8 * DAY_S)
    prune_once(ctx)

    assert ctx.store.keys == {}


def _entry(ctx, state):
    from deployer.domain.model import new_deployment_id
    from deployer.domain.notifications import NotificationEntry

    deployment_id = new_deployment_id(ctx.clock.now())
    entry = NotificationEntry(
        id=f"{deployment_id}.active.{state}",
        deployment_id=deployment_id,
        agent="support-bot",
        event_type="deployment.active",
        event_id=f"evt-{state}",
        subscriber=state,
        channel="webhook",
        time="2026-11-29T00:00:00Z",
        data="{}",
        created_at=ctx.clock.now(),
        started_at=ctx.clock.now(),
        state=state,
    )
    ctx.store.add_notification(entry)
    return entry


def test_the_statuses_retention_may_delete_are_the_ones_that_are_over():
    assert FINISHED_STATUSES.isdisjoint(OPEN_STATUSES | SERVING_STATUSES)
    assert {"awaiting_approval", "canary", "rolled_back", "rejected"} & FINISHED_STATUSES == {
        "rolled_back",
        "rejected",
    }
