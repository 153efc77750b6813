"""Retention: the agent's versions beyond ``keep_versions`` are deleted once a new deployment
serves, and never hold anything up.

A version Foundry will not delete yet (409 while it has live sessions, which linger up to an
hour after the last call; or an outage) is left for later: the deployment that owned it records
when deletion was first refused and when it is tried next, and gets its own open-work row for
that try, so the poll retries it on its own schedule while the deployment that triggered
retention settles at once. ``retention_force_after_s`` (per agent, default never) is how long a
version may stay busy before it is deleted with ``force``, which ends its sessions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace

from deployer.context import Context, retry_on_conflict
from deployer.domain.agents import AgentConfig
from deployer.domain.clock import iso, parse_iso
from deployer.domain.errors import Conflict, PlatformError
from deployer.domain.model import SERVING_STATUSES, Deployment
from deployer.domain.platform import DEPLOYMENT_ID_KEY, Scheduled
from deployer.domain.transitions import delete_retry_delay, versions_to_delete
from deployer.rollout import traffic

log = logging.getLogger(__name__)


def retain(ctx: Context, agent: AgentConfig, d: Deployment) -> None:
    """Delete the agent's versions beyond ``keep_versions`` (never ``d``'s, one the agent's version
    selector routes to, nor one whose deployment is still under way or serving: it takes over or
    is superseded on its own, and a later pass deletes it); one that cannot be deleted now is
    retried on its owner's row."""
    endpoint = ctx.endpoint_of(agent, d)
    try:
        versions = ctx.platform.list_versions(endpoint, d.agent)
        routed = traffic.routed_versions(ctx, agent, d) if d.rollout not in (None, "immediate") else set()
    except PlatformError as exc:
        log.warning("agent %s: retention skipped, Foundry unavailable (%s)", d.agent, exc.code)
        return
    for version in versions_to_delete(versions, keep=agent.keep_versions, active_version=d.version):
        owner_id = version.metadata.get(DEPLOYMENT_ID_KEY)
        owner = ctx.store.get(owner_id) if owner_id else None
        if version.version in routed or (owner is not None and _kept_by(owner)):
            continue
        next_try = _delete(ctx, agent, endpoint, version.version, owner)
        if next_try is not None and owner is not None:
            ctx.store.schedule_by(Scheduled(deployment_id=owner.id, due=next_try))


def retry(ctx: Context, agent: AgentConfig, owner: Deployment, lease: Scheduled, now: float) -> None:
    """The poll's look at a deployment whose version retention could not delete (its row is due
    at ``version_delete_next_at``): try again, unless the version serves again (a rollback by
    traffic went back to it)."""
    assert owner.version is not None
    endpoint = ctx.endpoint_of(agent, owner)
    if _serves(ctx, agent, owner):
        _update(ctx, owner.id, lambda o: replace(o, version_delete_next_at=None))
        ctx.store.unschedule(owner.id)
        return
    next_try = _delete(ctx, agent, endpoint, owner.version, owner)
    if next_try is None:
        ctx.store.unschedule(owner.id)
    else:
        ctx.store.schedule(replace(lease, due=next_try))


def _delete(
    ctx: Context, agent: AgentConfig, endpoint: str, version: str, owner: Deployment | None
) -> float | None:
    """Delete ``version``; ``None`` when done, else when to try again (noted on ``owner``)."""
    now = ctx.clock.now()
    refused = owner.version_delete_refused_at if owner else None
    try:
        refused = _call_delete(ctx, agent, endpoint, version, refused=refused, now=now)
    except PlatformError as exc:
        if exc.status_code == 409:
            refused = refused or iso(now)
        next_try = now + delete_retry_delay(now - parse_iso(refused) if refused else 0.0)
        log.warning(
            "agent %s: version %s not deleted (%s), next try %s", agent.name, version, exc.code, iso(next_try)
        )
        if owner is not None:
            first, at = refused, iso(next_try)
            _update(
                ctx,
                owner.id,
                lambda o: replace(o, version_delete_refused_at=first, version_delete_next_at=at),
            )
        return next_try
    log.info("agent %s: deleted version %s (keep_versions=%d)", agent.name, version, agent.keep_versions)
    if owner is not None:
        done, first = iso(ctx.clock.now()), refused
        _update(
            ctx,
            owner.id,
            lambda o: replace(
                o, version_deleted_at=done, version_delete_refused_at=first, version_delete_next_at=None
            ),
        )
    return None


def _kept_by(owner: Deployment) -> bool:
    """Whether ``owner``'s version stays for now: its deployment is under way (deleting the
    version would fail it) or serves, or the version already waits for its own retry."""
    return owner.is_open or owner.status in SERVING_STATUSES or owner.version_delete_next_at is not None


def _call_delete(
    ctx: Context, agent: AgentConfig, endpoint: str, version: str, *, refused: str | None, now: float
) -> str | None:
    """Delete, with ``force`` once the version has been busy ``retention_force_after_s`` (a
    first refusal forces at once when that is 0); return when it was first refused, if it was."""
    force = _force(agent, refused, now)
    try:
        ctx.platform.delete_version(endpoint, agent.name, version, force=force)
    except PlatformError as exc:
        if force or exc.status_code != 409 or not _force(agent, refused or iso(now), now):
            raise
        ctx.platform.delete_version(endpoint, agent.name, version, force=True)
        return refused or iso(now)
    return refused


def _force(agent: AgentConfig, refused: str | None, now: float) -> bool:
    after = agent.retention_force_after_s
    return after is not None and refused is not None and now - parse_iso(refused) >= after


def _serves(ctx: Context, agent: AgentConfig, owner: Deployment) -> bool:
    active = ctx.store.get(ctx.store.get_agent(owner.agent).active_id or "")
    if active is not None and active.version == owner.version:
        return True
    return owner.version in traffic.routed_versions(ctx, agent, owner)


def _update(ctx: Context, deployment_id: str, change: Callable[[Deployment], Deployment]) -> None:
    """Apply ``change`` to the deployment's record (re-read on a lost race; gone: nothing). A
    note only: if it keeps losing, the next pass of retention writes it."""

    def attempt() -> None:
        current = ctx.store.get(deployment_id)
        if current is not None:
            ctx.store.update(change(current))

    with suppress(Conflict):
        retry_on_conflict(attempt, gave_up=f"deployment {deployment_id}: retention not noted")
