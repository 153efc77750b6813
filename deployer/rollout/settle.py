"""Settling a deployment whose version is up: it becomes the agent's serving deployment
(``active``, or ``verified`` after its smoke test) or, when a newer one already serves,
``superseded``; the previous one is retired and retention applied. Safe to repeat after a crash:
the poll calls :func:`settle` again for a record left ``active``/``verified`` with open work.

The new deployment entering its status and the previous one leaving ``active``/``verified`` are
one write (an entity-group transaction: both records are in one partition), so no reader ever
sees two serving deployments of one agent, nor a moment with none.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from deployer.config.parser import AgentConfig
from deployer.context import Context
from deployer.deploy import promotion
from deployer.domain.clock import iso, parse_iso
from deployer.domain.model import SERVING_STATUSES, SMOKE_TESTED, AgentState, Deployment, Status
from deployer.domain.transitions import settles_as
from deployer.notify import outbox
from deployer.ports import Conflict, Scheduled
from deployer.rollout import traffic
from deployer.rollout.retention import retain

log = logging.getLogger(__name__)
#: How long a retired deployment keeps an open-work row while its event is flushed.
RETIRE_LEASE_S = 60.0
_AGENT_RACES = 5


def settle(
    ctx: Context, agent: AgentConfig, d: Deployment, *, status: Status = "active", note: str | None = None
) -> None:
    """Make ``d`` the agent's serving deployment in ``status`` (or superseded, if a newer one
    serves), retire the previous one and apply retention."""
    now = ctx.clock.now()
    for _ in range(_AGENT_RACES):
        state = ctx.store.get_agent(d.agent)
        if retire_if_superseded(ctx, agent, d, state):
            return
        d = _take_over(ctx, agent, d, state, status, note=note, now=now)
        if state.active_id == d.id:
            break
        try:
            ctx.store.save_agent(
                replace(state, active_id=d.id, active_image=d.image, active_digest=d.digest, active_tag=d.tag)
            )
            break
        except Conflict:
            continue
    else:
        raise Conflict(d.agent)
    retain(ctx, agent, d)
    promotion.after_verified(ctx, agent, d)  # before the open work ends: repeated after a crash
    ctx.store.unschedule(d.id)
    log.info("deployment %s: %s version %s %s", d.id, d.agent, d.version, status)


def _take_over(
    ctx: Context,
    agent: AgentConfig,
    d: Deployment,
    state: AgentState,
    status: Status,
    *,
    note: str | None,
    now: float,
) -> Deployment:
    """``d`` enters ``status`` and the deployment serving until now becomes ``superseded``, in
    one write. The retired one has no open-work row any more, so it gets one until its event
    is flushed: a crash in between leaves it for the poll."""
    previous = ctx.store.get(state.active_id) if state.active_id and state.active_id != d.id else None
    if previous is not None and previous.status not in SERVING_STATUSES:
        previous = None
    if d.status == status and previous is None:
        return d
    changed: list[Deployment] = []
    if d.status != status:
        if d.rollout in (None, "immediate"):
            traffic.ensure_immediate(ctx, agent, d)
        took = round(now - parse_iso(d.created_at), 3)
        changed.append(d.moved_to(status, iso(now), note=note, time_to_active_s=took))
    retiring = previous and previous.moved_to("superseded", iso(now), reason="newer_deployment_active")
    notify = retiring is not None and outbox.has_notifications(ctx, retiring)
    if retiring is not None:
        if notify:
            ctx.store.schedule_by(Scheduled(deployment_id=retiring.id, due=now + RETIRE_LEASE_S))
        changed.append(retiring)
    stored = ctx.store.update_together(changed) if len(changed) > 1 else [ctx.store.update(changed[0])]
    flushed = [outbox.flush(ctx, record) for record in stored]
    if notify and retiring is not None:
        ctx.store.unschedule(retiring.id)
    return flushed[0] if flushed[0].id == d.id else d


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
