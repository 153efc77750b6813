"""Starting deployments: from an ACR push (the Event Grid trigger) or by request (API, CLI).

Crash safety: the record is written ``pending`` before ``create_version`` and the version
carries the deployment id in its metadata; if the process dies in between, the poll
reconciles the pending record (``create.py``) instead of anything creating a second version.
A delivery that does not own the record (a duplicate, a redelivery) only ever moves its
open-work row earlier, and reconciles it at once when its first call is known to have ended.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from deployer.context import Context, retry_on_conflict
from deployer.deploy import approval, create, image_check, push_write
from deployer.domain import rollout, rules
from deployer.domain.agents import AgentConfig
from deployer.domain.approval import ApprovalPolicy
from deployer.domain.clock import iso
from deployer.domain.errors import Conflict, PlatformError
from deployer.domain.model import (
    AgentState,
    Deployment,
    Source,
    Status,
    new_deployment_id,
)
from deployer.domain.platform import Scheduled
from deployer.domain.pushes import ImagePush, ReceivedEvent
from deployer.domain.transitions import PENDING_GRACE_S
from deployer.notify import outbox
from deployer.rollout import holds

log = logging.getLogger(__name__)


def handle_event(ctx: Context, event: ReceivedEvent) -> list[Deployment]:
    """Record what one delivered event means, deploying where the rules say. Idempotent per
    event id: a redelivery returns the records the first delivery made."""
    if event.kind != "push" or event.push is None:
        status: Status = "ignored" if event.kind == "ignored" else "refused"
        return [_note(ctx, event, status, event.reason or event.kind)]
    routed = rules.route(event.push, ctx.config)
    if routed.status is not None:
        return [_note(ctx, event, routed.status, routed.reason or routed.status)]
    return [_push_to_agent(ctx, event.push, agent) for agent in routed.agents]


def start_deployment(
    ctx: Context,
    agent: AgentConfig,
    push: ImagePush,
    *,
    source: Source,
    requested_by: str | None = None,
    deployment_id: str | None = None,
    reason: str | None = None,
    promoted_from: str | None = None,
    automatic: bool = False,
) -> Deployment:
    """Deploy ``push`` to ``agent`` on request (no tag policy, may go backwards on purpose).
    ``deployment_id`` (default: a new one) lets the caller know the id before anything is
    written; ``reason`` (and ``promoted_from``) are recorded on the record's first write.
    ``automatic`` (nobody asked: a promotion after ``verified``): like a push, it is ``skipped``
    when the agent is paused or the digest is held."""
    now = ctx.clock.now()
    record = _record(
        ctx,
        agent,
        push,
        deployment_id=deployment_id or new_deployment_id(now),
        source=source,
        now=now,
        requested_by=requested_by,
    )
    record = replace(record, reason=reason, promoted_from=promoted_from)
    return _launch(ctx, agent, push, record, automatic=automatic)


def _push_to_agent(ctx: Context, push: ImagePush, agent: AgentConfig) -> Deployment:
    now = ctx.clock.now()
    candidate = new_deployment_id(now)
    record = _record(ctx, agent, push, deployment_id=candidate, source="event", now=now)
    at_once = _begin_at_once(ctx, agent, push, record)
    if at_once is not None:
        return at_once
    deployment_id = ctx.store.claim(push_write.event_key(push, agent), candidate)
    if deployment_id != candidate:  # a redelivery: the first delivery's record, if it got that far
        existing = ctx.store.get(deployment_id)
        if existing is not None:
            return create.reconcile_if_due(ctx, agent, existing)
    record = _record(ctx, agent, push, deployment_id=deployment_id, source="event", now=now)
    verdict = rules.tag_verdict(push, agent)
    if not verdict.deploy:
        return _add_skipped(ctx, record, verdict.reason)
    state = ctx.store.get_agent(agent.name)
    record = push_write.expecting(record, state)
    blocked = rollout.push_blocked(state, push.digest)
    if blocked is not None:  # decided before the push key is taken: after unhold it may deploy
        return _add_skipped(ctx, record, blocked)
    owner = ctx.store.claim(push_write.push_key(push, agent), deployment_id)
    if owner != deployment_id:
        return _add_skipped(ctx, record, "duplicate")
    return _launch(ctx, agent, push, record, state=state)


def _begin_at_once(
    ctx: Context, agent: AgentConfig, push: ImagePush, record: Deployment
) -> Deployment | None:
    """The common push in one atomic write (``push_write.py``), then the version; ``None`` when
    the step-by-step path must decide (nothing written)."""
    written = push_write.write_at_once(ctx, agent, push, record)
    if written is None:
        return None
    pending, state, lookup = written
    return _create(ctx, agent, pending, state=state, first_look_scheduled=True, lookup=lookup)


def _launch(
    ctx: Context,
    agent: AgentConfig,
    push: ImagePush,
    record: Deployment,
    *,
    state: AgentState | None = None,
    automatic: bool = False,
) -> Deployment:
    held = None
    if record.source == "rollback":  # pushes of the digest rolled away from must not undo it
        held = holds.hold_rolled_away(
            ctx, agent.name, to_digest=push.digest, by=record.requested_by, deployment_id=record.id
        )
    ordered = record.source == "event"
    reason = _take_agent(ctx, agent, push, ordered=ordered, blockable=ordered or automatic, state=state)
    if reason is not None:
        return _add_skipped(ctx, record, reason)
    policy = approval.policy_for(agent, record)
    if policy is not None:  # nothing is created or moved until a person approves
        return _wait_for_approval(ctx, agent, record, policy)
    pending, ours = write_pending(ctx, record, note=held)
    if not ours:
        return create.reconcile_if_due(ctx, agent, pending)
    return _create(ctx, agent, pending)


def _wait_for_approval(
    ctx: Context, agent: AgentConfig, record: Deployment, policy: ApprovalPolicy
) -> Deployment:
    """Check the image before asking anyone: an image that is not there fails now, not after a
    person approved it. A registry that cannot be reached now does not hold up the request: the
    approved deployment checks the image again before it creates its version."""
    try:
        checked, refused = image_check.check(ctx, agent, record)
    except PlatformError:
        return approval.wait(ctx, record, policy)
    if refused is not None:
        return _add_once(ctx, checked.moved_to("failed", iso(ctx.clock.now()), error=refused))
    return approval.wait(ctx, checked, policy)


def _create(
    ctx: Context,
    agent: AgentConfig,
    pending: Deployment,
    *,
    state: AgentState | None = None,
    first_look_scheduled: bool = False,
    lookup: image_check.Lookup | None = None,
) -> Deployment:
    """Create the version of a pending record this call wrote (``state``: the agent row as it
    was when the record was written with it, if it was; ``first_look_scheduled``: its open-work
    entry is due for the first look at the version; ``lookup``: its image lookup, under way)."""
    try:
        return create.create_version_for(
            ctx, agent, pending, state=state, first_look_scheduled=first_look_scheduled, lookup=lookup
        )
    except PlatformError:
        _wake_for_reconcile(ctx, pending.id)
        raise


def _wake_for_reconcile(ctx: Context, deployment_id: str) -> None:
    """The first call ended in an error worth retrying: the poll looks when the record says it
    may be reconciled, which may be sooner than the pending grace (a redelivery may be first)."""
    record = ctx.store.get(deployment_id)
    if record is not None and record.status == "pending":
        ctx.store.schedule_by(Scheduled(deployment_id=deployment_id, due=create.reconcile_at(record)))


def write_pending(ctx: Context, record: Deployment, *, note: str | None = None) -> tuple[Deployment, bool]:
    """Write ``record`` as ``pending`` (``note`` on its history entry: a rollback's, what it held)
    with its open-work entry first (so the poll reconciles it if this process dies); ``False``
    when another delivery wrote it already (its record back).
    The entry is only ever moved earlier here: a delivery that loses the race for the record
    must not delay the winner's next look."""
    now = ctx.clock.now()
    ctx.store.schedule_by(Scheduled(deployment_id=record.id, due=now + PENDING_GRACE_S))
    try:
        return ctx.store.add(record.moved_to("pending", iso(now), note=note)), True
    except Conflict:
        found = ctx.store.get(record.id)
        assert found is not None
        return found, False


def _take_agent(
    ctx: Context,
    agent: AgentConfig,
    push: ImagePush,
    *,
    ordered: bool,
    blockable: bool,
    state: AgentState | None,
) -> str | None:
    """Check pauses and holds (``blockable``: deployments nobody asked for), the order rules
    (``ordered``: pushes) against the agent's row (``state``: as just read, if it was) and raise
    its highest started tag, conditionally, so concurrent pushes for one agent are decided one
    at a time."""
    read = [state] if state is not None else []  # the row as just read: for the first attempt only

    def attempt() -> str | None:
        current = read.pop() if read else ctx.store.get_agent(agent.name)
        verdict = rules.state_verdict(push, agent, current, ordered=ordered) if blockable else rules.DEPLOY
        if not verdict.deploy:
            return verdict.reason
        high_tag = rules.raised_high_tag(push, agent, current)
        if high_tag != current.high_tag or current.etag is None:
            ctx.store.save_agent(replace(current, high_tag=high_tag))
        return None

    gave_up = f"agent {agent.name} is being updated by too many deployments at once; retry"
    return retry_on_conflict(attempt, gave_up=gave_up)


def _record(
    ctx: Context,
    agent: AgentConfig,
    push: ImagePush,
    *,
    deployment_id: str,
    source: Source,
    now: float,
    requested_by: str | None = None,
) -> Deployment:
    return Deployment.begin(
        deployment_id,
        agent=agent.name,
        image=rules.image_to_deploy(push, agent),
        status="pending",
        source=source,
        at=iso(now),
        of=push,
        event_id=push.event_id,
        project_endpoint=agent.project_endpoint or ctx.default_endpoint,
        requested_by=requested_by,
        rollout=agent.rollout,
    )


def _add_skipped(ctx: Context, record: Deployment, reason: str | None) -> Deployment:
    skipped = record.moved_to("skipped", record.created_at, reason=reason)
    return _add_once(ctx, skipped)


def _note(ctx: Context, event: ReceivedEvent, status: Status, reason: str) -> Deployment:
    """Record an event that deploys nothing (ignored, refused, no rule), once per event id (an
    event without one: once per content)."""
    now = ctx.clock.now()
    key = f"event|{event.event_id}|" if event.event_id else f"content|{event.content_sha256}|"
    deployment_id = ctx.store.claim(key, new_deployment_id(now))
    push = event.push
    record = Deployment.begin(
        deployment_id,
        agent="",
        image=push.image if push else "",
        status=status,
        source="event",
        at=iso(now),
        of=push,
        event_id=event.event_id or None,
        reason=reason[:500],
    )
    log.info("event %s (%s): %s, %s", event.event_id, event.event_type, status, reason)
    return _add_once(ctx, record.moved_to(status, record.created_at, reason=reason[:500]))


def _add_once(ctx: Context, record: Deployment) -> Deployment:
    """Insert a record that is born finished (skipped, ignored, refused, an image missing before
    approval), once. One that has
    notifications gets an open-work row first and keeps it until they are flushed, so if the
    process dies in between, the poll finds the record and flushes it (``deployer.deploy.poll``)."""
    notify = outbox.has_notifications(ctx, record)
    if notify:
        ctx.store.schedule_by(Scheduled(deployment_id=record.id, due=ctx.clock.now() + PENDING_GRACE_S))
    try:
        stored = ctx.store.add(record)
    except Conflict:
        found = ctx.store.get(record.id)
        assert found is not None
        stored = found
    if notify:
        stored = outbox.flush(ctx, stored)
        if not stored.is_open:  # a racing delivery of the same event may own an open record
            ctx.store.unschedule(record.id)
    return stored
