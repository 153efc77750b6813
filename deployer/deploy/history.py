"""History retention: finished records, their idempotency keys and old notifications are deleted
once they are older than the configuration says, a bounded batch at a time (the
``prune_history`` timer), so the table holds weeks of history, not every event ever received.

``history_retention_days`` (default 90): finished deployment records, their keys, and dead
notifications. ``ignored_retention_days`` (default 7): records of ignored and refused events,
and delivered notifications. Age is counted from the record's creation (its id).

Never deleted, whatever their age: a deployment still open or serving; the ones the agent's row
names (its active deployment, its canary, the one awaiting approval, the deployment behind each
hold); the newest superseded deployment that served, where a rollback goes; one that served and
whose version retention has not deleted (a rollback may name that version); one whose version
deletion is still being retried; a pending notification. Each delete is conditional on the ETag read, in
entity-group transactions of one partition, a record with its keys in the same one: a record
that changed meanwhile stays, with its keys, for the next pass (should a transaction be redone
row by row, the keys go first: a record may be left without keys, Event Grid redelivers for a
day only, never a key naming a missing record).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from deployer.context import Context
from deployer.deploy import idempotency
from deployer.deploy.rollback import previous_serving
from deployer.domain.model import FINISHED_STATUSES, Deployment, Status
from deployer.domain.notifications import NotificationEntry

log = logging.getLogger(__name__)
DAY_S = 86_400.0
#: Records and notifications deleted by one pass at most; records read by one pass at most.
BATCH = 100
SCAN = 500
#: The newest superseded record of an agent nearly always served: a short page finds it.
_ROLLBACK_PAGE = 10
SHORT_LIVED: tuple[Status, ...] = ("ignored", "refused")


@dataclass(frozen=True, kw_only=True)
class Pruned:
    """What retention deleted; ``more``: the last pass stopped at its bound."""

    records: int = 0
    keys: int = 0
    notifications: int = 0
    passes: int = 0
    more: bool = False

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned(
            records=self.records + other.records,
            keys=self.keys + other.keys,
            notifications=self.notifications + other.notifications,
            passes=self.passes + other.passes,
            more=other.more,
        )


def prune(ctx: Context, *, budget_s: float) -> Pruned:
    """Passes of :func:`prune_once` while each finds a full batch, starting none after ``budget_s``.
    What each agent's row and rollback rely on is read once per run (seconds): what a rollback,
    a hold or a canary adds meanwhile names new records, and a deployment superseded meanwhile
    still has its version, which keeps it."""
    started, agents = ctx.clock.now(), dict[str, set[str]]()
    total = prune_once(ctx, agents)
    while total.more and ctx.clock.now() - started < budget_s:
        total += prune_once(ctx, agents)
    return total


def prune_once(ctx: Context, agents: dict[str, set[str]] | None = None) -> Pruned:
    """Delete at most :data:`BATCH` records (with their keys) and notifications past retention;
    ``agents``: what each agent relies on, as read by an earlier pass of this run."""
    now = ctx.clock.now()
    history = now - ctx.config.history_retention_days * DAY_S
    ignored = now - ctx.config.ignored_retention_days * DAY_S
    found = {d.id: d for d in ctx.store.created_before(history, limit=SCAN)}
    found.update({d.id: d for d in ctx.store.created_before(ignored, statuses=SHORT_LIVED, limit=SCAN)})
    kept = relied_on(ctx, found.values(), {} if agents is None else agents)
    doomed = [d for d in found.values() if d.id not in kept][:BATCH]
    keys = {owner: _with_locks(held) for owner, held in ctx.store.owned_keys({d.id for d in doomed}).items()}
    forgotten = ctx.store.forget(doomed, keys) if doomed else []
    forgotten_keys = sum(len(keys.get(deployment_id, ())) for deployment_id in forgotten)
    notes = _old_notifications(ctx, delivered_before=ignored, dead_before=history)
    forgotten_notes = ctx.store.forget_notifications(notes) if notes else 0
    if forgotten or forgotten_notes:
        log.info(
            "history: deleted %d records, %d keys, %d notifications past retention",
            len(forgotten),
            forgotten_keys,
            forgotten_notes,
        )
    return Pruned(
        records=len(forgotten),
        keys=forgotten_keys,
        notifications=forgotten_notes,
        passes=1,
        more=len(doomed) == BATCH or len(notes) == BATCH,
    )


def _with_locks(keys: list[str]) -> list[str]:
    """A deployment's keys and the lock of each request result among them (both go with it)."""
    return [*keys, *(lock for key in keys if (lock := idempotency.lock_of(key)))]


def relied_on(ctx: Context, records: Iterable[Deployment], agents: dict[str, set[str]]) -> set[str]:
    """The ids among ``records`` that retention must keep; ``agents`` caches what each agent's
    row and rollback rely on (read here for the agents not in it yet)."""
    kept = {d.id for d in records if not _finished(d)}
    for agent in sorted({d.agent for d in records if d.agent and d.id not in kept} - agents.keys()):
        state = ctx.store.get_agent(agent)
        previous = previous_serving(ctx, agent, page=_ROLLBACK_PAGE)
        named = (
            state.active_id,
            state.canary_id,
            state.awaiting_id,
            *(h.deployment_id for h in state.holds),
            previous and previous.id,
        )
        agents[agent] = {i for i in named if i}
    return kept.union(*agents.values())


def _finished(d: Deployment) -> bool:
    """Over, and nothing left that a rollback or version retention may still need."""
    version_kept = d.version is not None and not d.version_deleted_at
    rollback_target = d.was_serving and version_kept and d.rollout != "instant"
    deleting = version_kept and d.version_delete_next_at is not None
    return d.status in FINISHED_STATUSES and not rollback_target and not deleting


def _old_notifications(
    ctx: Context, *, delivered_before: float, dead_before: float
) -> list[NotificationEntry]:
    notes = ctx.store.notifications_before(delivered_before, state="delivered", limit=BATCH)
    if len(notes) < BATCH:
        notes += ctx.store.notifications_before(dead_before, state="dead", limit=BATCH - len(notes))
    return notes
