"""Following open deployments until the platform settles them: the work of one poll tick.

A tick reads only the open-work index (entries due now), takes each entry with a conditional
lease so that concurrent ticks never work on the same deployment (up to ``LEASE_CHUNK`` leases in
one store call), and applies every transition with a conditional update. What a tick cannot
finish within its budget stays due for the next (a lease taken and not worked is handed back).
A creating version's next look is timed from the start of the tick, not from the look. The writes
that end the tick's looks at still-creating versions are gathered and written together
(``look_writes.py``).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, replace
from functools import partial

from deployer.context import Context
from deployer.deploy import create, promotion, quiet, rollback, runtime_role
from deployer.deploy.look_writes import RETRY_SOON_S, LookWrites, release
from deployer.domain.agents import AgentConfig
from deployer.domain.clock import iso, parse_iso
from deployer.domain.errors import Conflict, PlatformError
from deployer.domain.model import SERVING_STATUSES, SMOKE_TESTED, Deployment, Status, deployment_time
from deployer.domain.platform import Scheduled, VersionInfo
from deployer.domain.rollout import promotion_due
from deployer.domain.transitions import backoff, next_look_at, observe, settles_as
from deployer.notify import outbox
from deployer.rollout import approval_wait, canary, retention, settle, traffic, verify

log = logging.getLogger(__name__)
LEASE_S = 60.0
ORPHAN_AFTER_S = 86_400.0
_DUE_LIMIT = 1000
#: Entries leased in one store call (one entity-group transaction: at most 100 operations).
LEASE_CHUNK = 100


@dataclass(frozen=True, kw_only=True)
class TickReport:
    """What one tick did, for logs, tests and benchmarks."""

    due: int
    worked: int
    deferred: int


def poll_once(ctx: Context, *, concurrency: int, budget_s: float) -> TickReport:
    """Work every due deployment, ``concurrency`` at a time, taking no new work after ``budget_s``.
    The entries are leased ``LEASE_CHUNK`` at a time in one store call (``DeploymentStore.lease``),
    the next chunk while the workers are on the one before."""
    started = ctx.clock.now()
    entries = ctx.store.due(started, _DUE_LIMIT)
    writes = LookWrites(ctx)
    work = partial(_within_budget, ctx, writes, started=started, budget_s=budget_s)
    taken: list[Future[bool]] = []
    try:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for first in range(0, len(entries), LEASE_CHUNK):
                now = ctx.clock.now()
                if now - started >= budget_s:
                    break
                chunk = entries[first : first + LEASE_CHUNK]
                leases = ctx.store.lease([_taken(ctx, e, now, started) for e in chunk])
                taken += [pool.submit(work, e, lease) for e, lease in zip(chunk, leases, strict=True)]
            worked = sum(f.result() for f in taken)
    finally:
        writes.flush()
    return TickReport(due=len(entries), worked=worked, deferred=len(entries) - worked)


def poll_and_send(
    ctx: Context, delivery: outbox.Delivery, *, concurrency: int, budget_s: float
) -> TickReport:
    """One tick, then, in the same execution, the notifications its transitions queued (with any
    other entry due): a webhook leaves as soon as the record changed, not at the sender's next
    tick. The sender's timer stays the fallback and retries. Nothing is sent, and the queue is not
    read, when nobody subscribes or the tick looked at nothing."""
    started = ctx.clock.now()
    report = poll_once(ctx, concurrency=concurrency, budget_s=budget_s)
    left = budget_s - (ctx.clock.now() - started)
    if report.worked and ctx.config.subscribers and left > 0:
        outbox.deliver_due(ctx, delivery, concurrency=concurrency, budget_s=left)
    return report


def _within_budget(
    ctx: Context,
    writes: LookWrites,
    entry: Scheduled,
    lease: Scheduled | None,
    *,
    started: float,
    budget_s: float,
) -> bool:
    """Work one leased entry unless the budget is spent; then its lease is handed back."""
    if lease is None:
        return True  # another worker took it
    if ctx.clock.now() - started >= budget_s:
        with suppress(Conflict):
            ctx.store.schedule(replace(entry, etag=lease.etag))
        return False
    _work(ctx, lease, ctx.clock.now(), started, writes)
    return True


def track(ctx: Context, entry: Scheduled, *, tick_started: float | None = None) -> None:
    """Lease one open entry, then move its deployment on as far as the platform allows. A lost
    race or an unavailable platform hands the entry back for a later look. An entry that carries
    a quiet look is first looked at with that alone (``quiet.py``); only a change leads on to
    the full look. A creating version's next look is timed from ``tick_started`` (by default,
    now): the start of the tick that found the entry due."""
    now = ctx.clock.now()
    since = now if tick_started is None else tick_started
    try:
        lease = ctx.store.schedule(_taken(ctx, entry, now, since))
    except Conflict:
        return  # another worker took it
    _work(ctx, lease, now, since)


def _taken(ctx: Context, entry: Scheduled, now: float, since: float) -> Scheduled:
    """``entry`` as its lease writes it: the quiet look's next look, or the full look's lease."""
    if entry.look is not None and (quiet_lease := quiet.lease(ctx, entry, now, since)) is not None:
        return quiet_lease
    return replace(entry, due=now + LEASE_S, look=None)


@dataclass(frozen=True)
class _Look:
    """When a look is made, when its tick started, the version a quiet look just saw, and where
    the look's ending writes go (``None``: written at once)."""

    now: float
    tick_started: float
    seen: VersionInfo | None = None
    writes: LookWrites | None = None


def _work(ctx: Context, lease: Scheduled, now: float, since: float, writes: LookWrites | None = None) -> None:
    look = _Look(now, since, writes=writes)
    if lease.look is not None:
        seen = quiet.look(ctx, lease, now)
        if seen is None:
            return
        try:
            lease = ctx.store.schedule(replace(lease, due=now + LEASE_S, look=None))
        except Conflict:
            return  # another worker took it
        look = _Look(now, since, seen, writes)
    try:
        _advance(ctx, lease, look)
    except Conflict:
        log.info("deployment %s: changed by another worker; looking again shortly", lease.deployment_id)
        release(ctx, lease, now + RETRY_SOON_S)
    except PlatformError as exc:
        log.warning("deployment %s: Foundry unavailable (%s); retrying later", lease.deployment_id, exc.code)
        release(ctx, lease, now + backoff(lease.attempt))


def _advance(ctx: Context, lease: Scheduled, look: _Look) -> None:
    now = look.now
    deployment = ctx.store.get(lease.deployment_id)
    if deployment is None:
        _drop_orphan(ctx, lease, now)
        return
    deployment = outbox.flush(ctx, deployment)  # events left by a process that died before its flush
    agent = ctx.config.agent(deployment.agent) or unconfigured(deployment)
    if deployment.status == "awaiting_approval":
        approval_wait.expire_or_wait(ctx, deployment, lease, now)
    elif deployment.status == "pending":
        _reconcile(ctx, agent, deployment, lease, now)
    elif deployment.status == "creating":
        _observe(ctx, agent, deployment, lease, look)
    elif deployment.status == "verifying":
        verify.step(ctx, agent, deployment, lease, now)
    elif deployment.status == "canary":
        canary.step(ctx, agent, deployment, lease, now)
    elif deployment.status == "rolled_back":
        canary.finish_abort(ctx, agent, deployment)
    elif deployment.status in SERVING_STATUSES:
        settle.settle(ctx, agent, deployment, status=deployment.status)
    elif deployment.version_delete_next_at and not deployment.version_deleted_at:
        retention.retry(ctx, agent, deployment, lease, now)
    else:
        ctx.store.unschedule(deployment.id)
        return
    _follow_up(ctx, agent, deployment.id)


def _follow_up(ctx: Context, agent: AgentConfig, deployment_id: str) -> None:
    """Start what follows a settled deployment (its promotion), then end its open work, which the
    settle step left for this: a crash before the end repeats it (the promotion starts once)."""
    if agent.promote_to is None:
        return
    d = ctx.store.get(deployment_id)
    if d is not None and promotion_due(agent, d):
        promotion.after_verified(ctx, agent, d)
        ctx.store.unschedule(d.id)


def _observe(ctx: Context, agent: AgentConfig, d: Deployment, lease: Scheduled, look: _Look) -> None:
    assert d.version is not None
    now = look.now
    info = look.seen or quiet.version_or_gone(ctx, ctx.endpoint_of(agent, d), d.agent, d.version)
    if info.status in ("deleting", "deleted") and settles_as(d, ctx.store.get_agent(d.agent)) == "superseded":
        # The version went (deleted by hand; retention keeps an open deployment's version) after a
        # newer deployment had already replaced it: overtaken, not failed.
        superseded = ctx.store.update(d.moved_to("superseded", iso(now), reason="newer_deployment_active"))
        outbox.flush(ctx, superseded)
        ctx.store.unschedule(d.id)
        return
    granted, info = runtime_role.gate(ctx, agent, d, info)  # the identity holds its role before active
    changed = granted if granted.runtime_role != d.runtime_role else None
    seen = observe(granted, info, now=now, started=parse_iso(d.began_at), timeout_s=agent.timeout_s)
    if seen.status == "creating":
        due = next_look_at(
            lease.attempt + 1,
            began=parse_iso(d.began_at),
            tick_started=look.tick_started,
            now=now,
            expected_s=d.expected_active_s,
        )
        quiet_look = quiet.of(ctx, agent, granted)
        following = replace(lease, due=due, attempt=lease.attempt + 1, look=quiet_look)
        _end_look(ctx, look, changed, following, lease)
        return
    d = granted if changed is None else ctx.store.update(changed)
    if seen.status == "active":
        traffic.serve_protocols(ctx, agent, d)  # before the smoke test or the first user calls
        if d.rollout in SMOKE_TESTED:
            verify.begin(ctx, agent, d, lease, now)
        else:
            settle.settle(ctx, agent, d)
        return
    status: Status = "failed" if seen.status == "failed" else "timed_out"
    outbox.flush(ctx, ctx.store.update(d.moved_to(status, iso(now), error=seen.error)))
    ctx.store.unschedule(d.id)
    log.info("deployment %s: %s version %s %s", d.id, d.agent, d.version, status)


def _end_look(
    ctx: Context, look: _Look, record: Deployment | None, entry: Scheduled, lease: Scheduled
) -> None:
    """Write the record (when the look changed it) and the next look ``entry``, which replaces
    ``lease``: with the tick's other looks when it gathers them, else at once."""
    if look.writes is not None:
        look.writes.add(record, entry, lease=lease, now=look.now)
        return
    if record is not None:
        ctx.store.update(record)
    ctx.store.schedule(entry)


def _reconcile(ctx: Context, agent: AgentConfig, d: Deployment, lease: Scheduled, now: float) -> None:
    """A pending record: its push handler's ``create_version`` call is still running, died or
    failed. Once no call of ours can still be running, adopt the version one made, or create it
    (``create.py``); until then it is looked at again with the backoff, so that a record the call
    moves on is followed without waiting out the grace."""
    due = create.reconcile_at(d)
    if now < due:  # its call may still be running (a push's first look comes early): look again
        ctx.store.schedule(
            replace(lease, due=min(due, now + backoff(lease.attempt)), attempt=lease.attempt + 1)
        )
        return
    if d.rollout == "instant":  # a rollback by traffic: no version to create
        rollback.finish(ctx, agent, d)
        return
    create.reconcile(ctx, agent, d)


def _drop_orphan(ctx: Context, lease: Scheduled, now: float) -> None:
    """An open entry whose record was never written (a crash before it): the event's
    redelivery writes it; give up on it after a day, as Event Grid does."""
    if now - deployment_time(lease.deployment_id) > ORPHAN_AFTER_S:
        ctx.store.unschedule(lease.deployment_id)


def unconfigured(d: Deployment) -> AgentConfig:
    """An agent removed from the configuration: still followed, with default limits, no retention."""
    from deployer.domain.tag_policy import TagPolicy

    return AgentConfig(
        name=d.agent, repository=d.repository or "", tags=TagPolicy.parse("*"), keep_versions=10**6
    )
