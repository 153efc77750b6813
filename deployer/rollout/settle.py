"""Settling a deployment whose version is up: it becomes the agent's serving deployment
(``active``, or ``verified`` after its smoke test) or, when a newer one already serves,
``superseded``; the previous one is retired and retention applied. Safe to repeat after a crash:
the poll calls :func:`settle` again for a record left ``active``/``verified`` with open work.
A deployment that must still be promoted keeps its open work: the poll starts the promotion (no
rollout step starts a deployment) and ends the open work after it, so a crash in between repeats it.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import replace

from deployer.context import Context, retry_on_conflict
from deployer.domain.agents import AgentConfig
from deployer.domain.clock import iso, parse_iso
from deployer.domain.errors import Conflict
from deployer.domain.model import SMOKE_TESTED, AgentState, Deployment, Status
from deployer.domain.platform import DEPLOYMENT_ID_KEY, Scheduled
from deployer.domain.rollout import promotion_due
from deployer.domain.transitions import settles_as, versions_to_delete
from deployer.notify import outbox
from deployer.rollout import traffic

log = logging.getLogger(__name__)
#: How long a retired deployment keeps an open-work row while its event is flushed.
RETIRE_LEASE_S = 60.0


def settle(
    ctx: Context, agent: AgentConfig, d: Deployment, *, status: Status = "active", note: str | None = None
) -> None:
    """Make ``d`` the agent's serving deployment in ``status`` (or superseded, if a newer one
    serves), retire the previous one and apply retention."""
    now = ctx.clock.now()
    entered = [d]

    def attempt() -> bool:
        """Whether ``d`` serves now (``False``: it was superseded and retired)."""
        state = ctx.store.get_agent(d.agent)
        if retire_if_superseded(ctx, agent, entered[0], state):
            return False
        if entered[0].status != status:
            entered[0] = _enter(ctx, agent, entered[0], status, note=note, now=now)
        serving = entered[0]
        if state.active_id != serving.id:
            if state.active_id:
                _supersede(ctx, state.active_id, now)
            ctx.store.save_agent(
                replace(
                    state,
                    active_id=serving.id,
                    active_image=serving.image,
                    active_digest=serving.digest,
                    active_tag=serving.tag,
                )
            )
        return True

    if not retry_on_conflict(attempt, gave_up=d.agent):
        return
    d = entered[0]
    retain(ctx, agent, d)
    if not promotion_due(agent, d):  # else the poll promotes it, then ends the open work
        ctx.store.unschedule(d.id)
    log.info("deployment %s: %s version %s %s", d.id, d.agent, d.version, status)


def _enter(
    ctx: Context, agent: AgentConfig, d: Deployment, status: Status, *, note: str | None, now: float
) -> Deployment:
    if d.rollout in (None, "immediate"):
        traffic.ensure_immediate(ctx, agent, d)
    took = round(now - parse_iso(d.created_at), 3)
    return outbox.flush(ctx, ctx.store.update(d.moved_to(status, iso(now), note=note, time_to_active_s=took)))


def retire_if_superseded(ctx: Context, agent: AgentConfig, d: Deployment, state: AgentState) -> bool:
    """If a newer deployment already serves the agent, record ``d`` superseded (handing back
    traffic it may have taken in a race) and end its open work; return whether it did."""
    if settles_as(d, state) != "superseded":
        return False
    superseded = ctx.store.update(
        d.moved_to("superseded", iso(ctx.clock.now()), reason="newer_deployment_active")
    )
    outbox.flush(ctx, superseded)
    active = ctx.store.get(state.active_id or "")
    if active is not None:
        if d.rollout in SMOKE_TESTED:
            traffic.hand_back(ctx, agent, d, active_version=active.version)
        retain(ctx, agent, active)
    ctx.store.unschedule(d.id)
    return True


def _supersede(ctx: Context, deployment_id: str, now: float) -> None:
    """Retire the previous serving deployment. It has no open-work row any more, so it gets one
    until its ``superseded`` event is flushed: a crash in between leaves it for the poll."""
    previous = ctx.store.get(deployment_id)
    if previous is not None and previous.status in ("active", "verified"):
        superseded = previous.moved_to("superseded", iso(now), reason="newer_deployment_active")
        notify = outbox.has_notifications(ctx, superseded)
        if notify:
            ctx.store.schedule(Scheduled(deployment_id=previous.id, due=now + RETIRE_LEASE_S))
        outbox.flush(ctx, ctx.store.update(superseded))
        if notify:
            ctx.store.unschedule(previous.id)


def retain(ctx: Context, agent: AgentConfig, d: Deployment) -> None:
    """Delete the agent's versions beyond ``keep_versions`` (never ``d``'s, nor one the agent's
    version selector routes to) and note each deletion on the deployment that owned it."""
    endpoint = ctx.endpoint_of(agent, d)
    versions = ctx.platform.list_versions(endpoint, d.agent)
    routed = traffic.routed_versions(ctx, agent, d) if d.rollout not in (None, "immediate") else set()
    for version in versions_to_delete(versions, keep=agent.keep_versions, active_version=d.version):
        if version.version in routed:
            continue
        ctx.platform.delete_version(endpoint, d.agent, version.version)
        log.info(
            "agent %s: deleted version %s (keep_versions=%d)", d.agent, version.version, agent.keep_versions
        )
        owner = version.metadata.get(DEPLOYMENT_ID_KEY)
        if owner:
            _record_deletion(ctx, owner)


def _record_deletion(ctx: Context, deployment_id: str) -> None:
    """Note on the deployment that owned a version that retention deleted it."""

    def attempt() -> None:
        owner = ctx.store.get(deployment_id)
        if owner is not None and not owner.version_deleted_at:
            ctx.store.update(replace(owner, version_deleted_at=iso(ctx.clock.now())))

    with suppress(Conflict):  # a note only: the version is deleted either way
        retry_on_conflict(attempt, gave_up=f"deployment {deployment_id}: deletion not noted")
