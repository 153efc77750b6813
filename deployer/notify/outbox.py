"""The notification outbox: from a record's ``pending_events`` to each subscriber, once.

Writing. A transition and its event types are one conditional update of the record
(``Deployment.moved_to`` appends to ``pending_events``). :func:`flush` then writes one entry per
(deployment, status, subscriber) with a deterministic id, insert-if-absent, queues it, and only
then clears ``pending_events`` with a conditional update. Until that clear, the deployment keeps
its open-work row, so if the process dies in between, the poll finds the
record again and flushes it (``deployer.deploy.poll``); running a flush twice writes nothing new.

Events nobody subscribes to (and ``pending``/``ignored``/``refused``, never notified) are left
on the record rather than cleared: clearing them would cost a write per transition for nothing.

Sending. :func:`deliver_due` (the ``deliver_notifications`` timer) reads only the queue rows that
are due, leases each with a conditional update (so two senders never send one entry at once),
sends, records the outcome on the entry with its ETag, and requeues or dequeues it. Delivery is
at least once: a sender that dies after sending but before recording sends again when its lease
ends, with the same ``webhook-id``, which receivers use to drop the repeat.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field, replace

from deployer.context import Context, retry_on_conflict
from deployer.domain.errors import Conflict
from deployer.domain.model import Deployment
from deployer.domain.notifications import Attempt, EntryState, NotificationEntry, QueuedNotification
from deployer.notify.events import plan
from deployer.notify.render import TopicEvent, render
from deployer.notify.retry import Decision, RetrySchedule
from deployer.ports import TopicPublisher, WebhookTransport

log = logging.getLogger(__name__)
#: How long a sender holds an entry: far longer than one send can take (connect + read timeouts).
LEASE_S = 300.0
_DUE_LIMIT = 500


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """The ways out and the retry policy, built by the composition root (or a test)."""

    webhooks: WebhookTransport
    topics: TopicPublisher | None = None
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    rand: Callable[[], float] = random.random
    #: The deployer's public origin, for links in Slack and Teams messages.
    links_base: str | None = None
    lease_s: float = LEASE_S


@dataclass(frozen=True, kw_only=True)
class DeliveryReport:
    """What one sender tick did, for logs and tests."""

    due: int
    delivered: int
    retrying: int
    dead: int
    skipped: int


def has_notifications(ctx: Context, deployment: Deployment) -> bool:
    """Whether a flush of ``deployment`` would write entries (some subscriber wants an event)."""
    return bool(plan(deployment, ctx.config.subscribers, now=ctx.clock.now()))


def flush(ctx: Context, deployment: Deployment) -> Deployment:
    """Hand the record's pending events to the outbox and clear them; return the record as
    stored. Safe to repeat and to race: entries are insert-if-absent, the clear is conditional."""
    latest = [deployment]

    def attempt() -> Deployment:
        current = latest[0]
        entries = plan(current, ctx.config.subscribers, now=ctx.clock.now())
        if not entries:
            return current
        for entry in entries:
            ctx.store.add_notification(entry)
            ctx.store.enqueue_notification(entry.id, entry.started_at)
        try:
            return ctx.store.update(replace(current, pending_events=()))
        except Conflict:
            fresh = ctx.store.get(current.id)
            if fresh is None:
                return current
            latest[0] = fresh
            raise

    return retry_on_conflict(attempt, gave_up=f"deployment {deployment.id}: pending events not cleared")


def deliver_due(
    ctx: Context, delivery: Delivery, *, concurrency: int = 4, budget_s: float = 20.0
) -> DeliveryReport:
    """Send every due entry, ``concurrency`` at a time, taking no new one after ``budget_s``."""
    started = ctx.clock.now()
    queued = ctx.store.due_notifications(started, _DUE_LIMIT)
    if not queued:
        return DeliveryReport(due=0, delivered=0, retrying=0, dead=0, skipped=0)

    def one(item: QueuedNotification) -> str:
        if ctx.clock.now() - started >= budget_s:
            return "skipped"
        return deliver_one(ctx, delivery, item)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outcomes = list(pool.map(one, queued))
    return DeliveryReport(
        due=len(queued),
        delivered=outcomes.count("delivered"),
        retrying=outcomes.count("retry"),
        dead=outcomes.count("dead"),
        skipped=len(queued) - sum(outcomes.count(v) for v in ("delivered", "retry", "dead")),
    )


def deliver_one(ctx: Context, delivery: Delivery, queued: QueuedNotification) -> str:
    """Lease one queued entry and make one attempt: ``delivered``, ``retry``, ``dead``, or
    ``taken`` (another sender has it) / ``dropped`` (nothing left to send)."""
    now = ctx.clock.now()
    try:
        lease = ctx.store.requeue_notification(replace(queued, due=now + delivery.lease_s))
    except Conflict:
        return "taken"
    entry = ctx.store.get_notification(queued.entry_id)
    if entry is None or entry.state != "pending":
        ctx.store.dequeue_notification(lease)  # delivered, dead, or a queue row left by a crash
        return "dropped"
    attempt = _attempt(ctx, delivery, entry, now)
    decision = delivery.schedule.decide(
        attempt,
        attempts_made=entry.attempts + 1,
        first=entry.started_at,
        now=ctx.clock.now(),
        rand=delivery.rand,
    )
    _record(ctx, after_attempt(entry, attempt, decision, now), lease, decision)
    return decision.verdict


def redeliver(ctx: Context, entry_id: str) -> NotificationEntry:
    """Send a ``dead`` (or ``delivered``) entry again, with a fresh retry schedule and the same
    event id; raise ``LookupError`` if there is no such entry. Repeating it is harmless."""
    entry = ctx.store.get_notification(entry_id)
    if entry is None:
        raise LookupError(f"no notification {entry_id!r}")
    now = ctx.clock.now()
    if entry.state != "pending":
        entry = ctx.store.save_notification(
            replace(
                entry, state="pending", attempts=0, started_at=now, next_attempt_at=now, delivered_at=None
            )
        )
    ctx.store.enqueue_notification(entry.id, now)
    log.info("notification %s: queued for redelivery", entry.id)
    return entry


def notifications(
    ctx: Context, *, state: str | None = None, limit: int = 50, after: str | None = None
) -> list[NotificationEntry]:
    """Outbox entries for the API and the CLI (``state``: pending, delivered or dead)."""
    return ctx.store.list_notifications(state=state, limit=limit, after=after)


def _attempt(ctx: Context, delivery: Delivery, entry: NotificationEntry, now: float) -> Attempt:
    subscriber = next((s for s in ctx.config.subscribers if s.key == entry.subscriber), None)
    if subscriber is None:
        return Attempt(error="subscriber_removed")
    request = render(entry, subscriber, now=now, links_base=delivery.links_base)
    if isinstance(request, TopicEvent):
        if delivery.topics is None:
            return Attempt(error="subscriber_removed")
        return delivery.topics.publish(request.endpoint, request.event)
    return delivery.webhooks.post(request.url, request.body, request.headers)


def after_attempt(
    entry: NotificationEntry, attempt: Attempt, decision: Decision, now: float
) -> NotificationEntry:
    """The entry with one more attempt recorded. Pure."""
    state: EntryState = "pending"
    if decision.verdict in ("delivered", "dead"):
        state = "delivered" if decision.verdict == "delivered" else "dead"
    return replace(
        entry,
        state=state,
        attempts=entry.attempts + 1,
        last_attempt_at=now,
        last_result=attempt.result,
        next_attempt_at=decision.due,
        delivered_at=now if state == "delivered" else None,
    )


def _record(ctx: Context, done: NotificationEntry, lease: QueuedNotification, decision: Decision) -> None:
    try:
        ctx.store.save_notification(done)
    except Conflict:
        # Changed under us (a redelivery, or a sender whose lease had ended): leave the queue
        # row leased; it comes due again and the entry's state decides then.
        log.warning("notification %s: changed while sending; looking again later", done.id)
        return
    log.info(
        "notification %s: %s after attempt %d (%s)",
        done.id,
        decision.verdict,
        done.attempts,
        done.last_result,
    )
    if decision.verdict == "retry" and decision.due is not None:
        with suppress(Conflict):
            ctx.store.requeue_notification(replace(lease, due=decision.due))
    else:
        ctx.store.dequeue_notification(lease)
