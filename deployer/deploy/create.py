"""Creating a pending deployment's version, exactly once.

A ``pending`` record carries ``reconcile_after``: until then a ``create_version`` call made for
it may still be running (this process's, or one a dead process left behind), so nobody else
lists or creates (``None``: ``created_at`` plus ``PENDING_GRACE_S``). When a call ends with an
error that is worth retrying, the record says when it may be reconciled: at once if the platform
answered (it refused, so nothing of ours is still running) or the image check failed (no call was
made yet), after ``SERVER_FINISH_S`` if the call timed out (the service may still finish it).
Whoever sees it first after that (the poll, or a redelivery of the event) takes the record with
a conditional update that moves
``reconcile_after`` a grace ahead (only one caller wins), lists the agent's versions, adopts the
one carrying its deployment id, or else creates it: never two versions.

Foundry answering 401/403 (a role still propagating, a credential being rotated) is retried the
same way for ``AUTH_RETRY_S`` after the deployment began, then fails it with a hint naming the
role the deployer needs.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from deployer.context import Context
from deployer.deploy import image_check, preflight
from deployer.domain.agents import AgentConfig
from deployer.domain.clock import iso, parse_iso
from deployer.domain.errors import Conflict, PlatformError
from deployer.domain.hints import hint_for
from deployer.domain.model import SMOKE_TESTED, AgentState, Deployment, DeploymentError
from deployer.domain.platform import DEPLOYMENT_ID_KEY, Scheduled, VersionInfo, VersionSpec
from deployer.domain.rollout_state import Traffic
from deployer.domain.transitions import (
    FIRST_DELAY_S,
    PENDING_GRACE_S,
    auth_refusal_retryable,
    reconcile_after,
)
from deployer.notify import outbox
from deployer.rollout import canary, traffic

log = logging.getLogger(__name__)


def create_version_for(
    ctx: Context,
    agent: AgentConfig,
    record: Deployment,
    *,
    state: AgentState | None = None,
    first_look_scheduled: bool = False,
    lookup: image_check.Lookup | None = None,
) -> Deployment:
    """Create the version for a pending record and move it to ``creating`` (or ``failed``).
    Preflight first: the image in its registry (``image_check``), then, when configured, the
    model deployments and connections; what is missing fails it with no version.
    ``rollout: verified``: the agent's traffic is pinned to the serving version. ``state``: the
    agent row as written with the record, if it was (saves reading it again).
    ``first_look_scheduled``: the record's open-work entry was written with the time of the
    first look at the version (a push's one write), so only the record changes after the call.
    ``lookup``: the image check's registry lookup, begun while that write was sent."""
    endpoint = ctx.endpoint_for(agent)
    pending = record  # what a retry starts from: it checks the image again, one history entry
    try:
        record, refused = image_check.check(ctx, agent, record, begun=lookup)
    except PlatformError as exc:  # before any call to Foundry: nothing of ours can be running
        return _refused(ctx, pending, exc, sent=False)
    if refused is not None:
        return _fail(ctx, record, refused)
    try:
        missing = preflight.check(ctx, agent, endpoint)
        if missing is not None:
            return _fail(ctx, record, missing)
        # An unfinished canary goes back to its stable version.
        canary.abort_older(ctx, agent, record, state=state)
        pinned = traffic.pin_before_create(ctx, agent, record) if record.rollout in SMOKE_TESTED else None
        info = ctx.platform.create_version(endpoint, agent.name, _spec(agent, record))
    except PlatformError as exc:
        return _refused(ctx, pending, exc)
    return _creating(ctx, record, info, pinned=pinned, note=None, schedule=not first_look_scheduled)


def reconcile_at(d: Deployment) -> float:
    """When the pending deployment ``d`` may be reconciled (no call of ours can be running)."""
    if d.reconcile_after:
        return parse_iso(d.reconcile_after)
    return parse_iso(d.began_at) + PENDING_GRACE_S


def reconcile(ctx: Context, agent: AgentConfig, d: Deployment) -> Deployment:
    """Take the pending record (:class:`Conflict` if another caller took it first), then adopt
    the version a call made for it, or create it."""
    now = ctx.clock.now()
    taken = ctx.store.update(replace(d, reconcile_after=iso(now + PENDING_GRACE_S)))
    endpoint = ctx.endpoint_of(agent, d)
    try:
        versions = ctx.platform.list_versions(endpoint, d.agent)
    except PlatformError as exc:
        return _refused(ctx, taken, exc)
    found = _find_version(versions, d)
    if found is None:
        return create_version_for(ctx, agent, taken)
    pinned = traffic.pin_before_create(ctx, agent, taken) if d.rollout in SMOKE_TESTED else None
    log.info("deployment %s: reconciled with existing version %s", d.id, found.version)
    return _creating(ctx, taken, found, pinned=pinned, note="reconciled")


def reconcile_if_due(ctx: Context, agent: AgentConfig, d: Deployment) -> Deployment:
    """A redelivery's look at its pending record: reconcile it at once when no call of ours can
    still be running; otherwise (or when another caller is at it) the record as it is."""
    if d.status != "pending" or d.rollout == "instant" or ctx.clock.now() < reconcile_at(d):
        return d
    try:
        return reconcile(ctx, agent, d)
    except Conflict:
        return ctx.store.get(d.id) or d


def _creating(
    ctx: Context,
    record: Deployment,
    info: VersionInfo,
    *,
    pinned: Traffic | None,
    note: str | None,
    schedule: bool = True,
) -> Deployment:
    now = ctx.clock.now()
    moved = record.moved_to(
        "creating", iso(now), note=note, version=info.version, traffic_before=pinned, reconcile_after=None
    )
    if schedule:  # the record and its next look change together: no crash leaves the grace behind
        creating, _ = ctx.store.update_and_schedule(
            moved, Scheduled(deployment_id=record.id, due=now + FIRST_DELAY_S)
        )
    else:  # its entry is due for the first look already
        creating = ctx.store.update(moved)
    log.info("deployment %s: %s version %s creating", record.id, record.agent, info.version)
    return outbox.flush(ctx, creating)


def _refused(ctx: Context, record: Deployment, exc: PlatformError, *, sent: bool = True) -> Deployment:
    """A call for the pending record failed: note when it may be reconciled and raise (the
    event is redelivered, the poll looks again), or fail the record for good. ``sent``: a
    ``create_version`` call may have been made (not so when the image check failed)."""
    now = ctx.clock.now()
    if exc.retryable or auth_refusal_retryable(exc.status_code, now - parse_iso(record.began_at)):
        at = reconcile_after(now, answered=exc.status_code is not None or not sent)
        try:
            ctx.store.update(replace(record, reconcile_after=iso(at)))
        except Conflict:
            log.info("deployment %s: changed meanwhile; its reconcile time stays", record.id)
        raise exc
    error = DeploymentError(code=exc.code, message=exc.message, hint=hint_for(exc.code, exc.status_code))
    return _fail(ctx, record, error)


def _find_version(versions: list[VersionInfo], d: Deployment) -> VersionInfo | None:
    by_id = [v for v in versions if v.metadata.get(DEPLOYMENT_ID_KEY) == d.id]
    if by_id:
        return by_id[0]
    by_image = [v for v in versions if DEPLOYMENT_ID_KEY not in v.metadata and v.image == d.image]
    return by_image[0] if by_image else None


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
