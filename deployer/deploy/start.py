"""Starting deployments: from an ACR push (the Event Grid trigger) or by request (API, CLI).

Crash safety: the record is written ``pending`` before ``create_version`` and the version
carries the deployment id in its metadata; if the process dies in between, the poll
reconciles the pending record (``deployer.deploy.poll``) instead of anything creating a second version.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from deployer.context import Context, retry_on_conflict
from deployer.deploy import image_check, preflight
from deployer.domain import rollout, rules
from deployer.domain.agents import AgentConfig
from deployer.domain.clock import iso
from deployer.domain.errors import Conflict, PlatformError
from deployer.domain.hints import hint_for
from deployer.domain.model import (
    SMOKE_TESTED,
    AgentState,
    Deployment,
    DeploymentError,
    ImagePush,
    ReceivedEvent,
    Source,
    Status,
    new_deployment_id,
)
from deployer.domain.platform import DEPLOYMENT_ID_KEY, Scheduled, VersionSpec
from deployer.domain.transitions import FIRST_DELAY_S, PENDING_GRACE_S
from deployer.notify import outbox
from deployer.rollout import canary, holds, traffic

log = logging.getLogger(__name__)


def handle_event(ctx: Context, event: ReceivedEvent) -> list[Deployment]:
    """Record what one delivered event means, deploying where the rules say. Idempotent per
    event id: a redelivery returns the records the first delivery made."""
    # The registry the image would be pulled from (the request host, else the topic's registry):
    # an allowed topic does not vouch for another request host.
    if event.kind == "push" and event.push and not ctx.config.allows_registry(event.push.registry):
        return [_note(ctx, event, "refused", "registry_not_allowed")]
    if event.kind != "push" or event.push is None:
        status: Status = "ignored" if event.kind == "ignored" else "refused"
        return [_note(ctx, event, status, event.reason or event.kind)]
    push = event.push
    if push.tag is None:
        return [_note(ctx, event, "ignored", "untagged")]
    agents = rules.agents_for(push, ctx.config)
    if not agents:
        return [_note(ctx, event, "skipped", "no_matching_rule")]
    return [_push_to_agent(ctx, push, agent) for agent in agents]


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
) -> Deployment:
    """Deploy ``push`` to ``agent`` on request (no tag policy, may go backwards on purpose).
    ``deployment_id`` (default: a new one) lets the caller know the id before anything is
    written; ``reason`` (and ``promoted_from``) are recorded on the record's first write."""
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
    return _launch(ctx, agent, push, replace(record, reason=reason, promoted_from=promoted_from))


def _push_to_agent(ctx: Context, push: ImagePush, agent: AgentConfig) -> Deployment:
    now = ctx.clock.now()
    candidate = new_deployment_id(now)
    deployment_id = ctx.store.claim(f"event|{push.event_id}|{agent.name}", candidate)
    if deployment_id != candidate:  # a redelivery: the first delivery's record, if it got that far
        existing = ctx.store.get(deployment_id)
        if existing is not None:
            return existing
    record = _record(ctx, agent, push, deployment_id=deployment_id, source="event", now=now)
    verdict = rules.tag_verdict(push, agent)
    if not verdict.deploy:
        return _add_skipped(ctx, record, verdict.reason)
    state = ctx.store.get_agent(agent.name)
    blocked = rollout.push_blocked(state, push.digest)
    if blocked is not None:  # decided before the push key is taken: after unhold it may deploy
        return _add_skipped(ctx, record, blocked)
    owner = ctx.store.claim(f"push|{agent.name}|{push.digest}|{push.tag}", deployment_id)
    if owner != deployment_id:
        return _add_skipped(ctx, record, "duplicate")
    return _launch(ctx, agent, push, record, state=state)


def _launch(
    ctx: Context, agent: AgentConfig, push: ImagePush, record: Deployment, *, state: AgentState | None = None
) -> Deployment:
    held = None
    if record.source == "rollback":  # pushes of the digest rolled away from must not undo it
        held = holds.hold_rolled_away(
            ctx, agent.name, to_digest=push.digest, by=record.requested_by, deployment_id=record.id
        )
    reason = _take_agent(ctx, agent, push, ordered=record.source == "event", state=state)
    if reason is not None:
        return _add_skipped(ctx, record, reason)
    pending, ours = write_pending(ctx, record, note=held)
    return create_version_for(ctx, agent, pending) if ours else pending


def write_pending(ctx: Context, record: Deployment, *, note: str | None = None) -> tuple[Deployment, bool]:
    """Write ``record`` as ``pending`` (``note`` on its history entry: a rollback's, what it held)
    with its open-work entry first (so the poll reconciles it if this process dies); ``False``
    when another delivery wrote it already (its record back)."""
    now = ctx.clock.now()
    ctx.store.schedule(Scheduled(deployment_id=record.id, due=now + PENDING_GRACE_S))
    try:
        return ctx.store.add(record.moved_to("pending", iso(now), note=note)), True
    except Conflict:
        found = ctx.store.get(record.id)
        assert found is not None
        return found, False


def _take_agent(
    ctx: Context, agent: AgentConfig, push: ImagePush, *, ordered: bool, state: AgentState | None
) -> str | None:
    """Check pauses, holds and the order rules against the agent's row (``state``: as just read,
    if it was) and raise its highest started tag, conditionally, so concurrent pushes for one
    agent are decided one at a time."""
    read = [state] if state is not None else []  # the row as just read: for the first attempt only

    def attempt() -> str | None:
        current = read.pop() if read else ctx.store.get_agent(agent.name)
        blocked = rollout.push_blocked(current, push.digest) if ordered else None
        if blocked is not None:
            return blocked
        verdict = rules.order_verdict(push, agent, current) if ordered else rules.DEPLOY
        if not verdict.deploy:
            return verdict.reason
        high_tag = rules.raised_high_tag(push, agent, current)
        if high_tag != current.high_tag or current.etag is None:
            ctx.store.save_agent(replace(current, high_tag=high_tag))
        return None

    gave_up = f"agent {agent.name} is being updated by too many deployments at once; retry"
    return retry_on_conflict(attempt, gave_up=gave_up)


def create_version_for(ctx: Context, agent: AgentConfig, record: Deployment) -> Deployment:
    """Create the version for a pending record and move it to ``creating`` (or ``failed``).
    Preflight first: the image in its registry (``image_check``), then, when configured, the
    model deployments and connections; what is missing fails it with no version.
    ``rollout: verified``: the agent's traffic is pinned to the serving version."""
    endpoint = ctx.endpoint_for(agent)
    try:
        record, refused = image_check.check(ctx, agent, record)
        if refused is not None:
            return _fail(ctx, record, refused)
        missing = preflight.check(ctx, agent, endpoint)
        if missing is not None:
            return _fail(ctx, record, missing)
        canary.abort_older(ctx, agent, record)  # an unfinished canary goes back to its stable version
        pinned = traffic.pin_before_create(ctx, agent, record) if record.rollout in SMOKE_TESTED else None
        info = ctx.platform.create_version(endpoint, agent.name, _spec(agent, record))
    except PlatformError as exc:
        if exc.retryable:
            raise
        hint = hint_for(exc.code, exc.status_code)
        return _fail(ctx, record, DeploymentError(code=exc.code, message=exc.message, hint=hint))
    now = ctx.clock.now()
    creating = ctx.store.update(
        record.moved_to("creating", iso(now), version=info.version, traffic_before=pinned)
    )
    creating = outbox.flush(ctx, creating)
    ctx.store.schedule(Scheduled(deployment_id=record.id, due=now + FIRST_DELAY_S))
    log.info("deployment %s: %s version %s creating (%s)", record.id, agent.name, info.version, record.image)
    return creating


def _spec(agent: AgentConfig, record: Deployment) -> VersionSpec:
    return VersionSpec(
        image=record.image,
        cpu=agent.cpu,
        memory=agent.memory,
        protocols=agent.protocols,
        environment_variables=agent.environment_variables,
        metadata={DEPLOYMENT_ID_KEY: record.id},
    )


def _fail(ctx: Context, record: Deployment, error: DeploymentError) -> Deployment:
    failed = ctx.store.update(record.moved_to("failed", iso(ctx.clock.now()), error=error))
    failed = outbox.flush(ctx, failed)
    ctx.store.unschedule(record.id)
    log.info("deployment %s: %s failed before a version was created: %s", record.id, record.agent, error.code)
    return failed


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
    """Record an event that deploys nothing (ignored, refused, no rule), once per event id."""
    now = ctx.clock.now()
    deployment_id = new_deployment_id(now)
    if event.event_id:
        deployment_id = ctx.store.claim(f"event|{event.event_id}|", deployment_id)
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
    """Insert a record that is born finished (skipped, ignored, refused), once. One that has
    notifications gets an open-work row first and keeps it until they are flushed, so if the
    process dies in between, the poll finds the record and flushes it (``deployer.deploy.poll``)."""
    notify = outbox.has_notifications(ctx, record)
    if notify:
        ctx.store.schedule(Scheduled(deployment_id=record.id, due=ctx.clock.now() + PENDING_GRACE_S))
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
