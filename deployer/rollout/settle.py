"""Settling a deployment whose version is up: it becomes the agent's serving deployment
(``active``, or ``verified`` after its smoke test) or, when a newer one already serves,
``superseded``; the previous one is retired and retention applied. Safe to repeat after a crash:
the poll calls :func:`settle` again for a record left ``active``/``verified`` with open work.
A deployment that must still be promoted keeps its open work: the poll starts the promotion (no
rollout step starts a deployment) and ends the open work after it, so a crash in between repeats it.

The new deployment entering its status and the previous one leaving ``active``/``verified`` are
one write (an entity-group transaction: both records are in one partition), so no reader ever
sees two serving deployments of one agent, nor a moment with none.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from deployer.context import Context, retry_on_conflict
from deployer.domain.agents import AgentConfig
from deployer.domain.clock import iso, parse_iso
from deployer.domain.model import SERVING_STATUSES, SMOKE_TESTED, AgentState, Deployment, Status
from deployer.domain.platform import Scheduled
from deployer.domain.rollout import promotion_due
from deployer.domain.transitions import learned, settles_as
from deployer.notify import outbox
from deployer.rollout import traffic
from deployer.rollout.retention import retain

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
        entered[0] = serving = _take_over(ctx, agent, entered[0], state, status, note=note, now=now)
        if state.active_id != serving.id:
            ctx.store.save_agent(
                replace(
                    state,
                    active_id=serving.id,
                    active_image=serving.image,
                    active_digest=serving.digest,
                    active_tag=serving.tag,
                    took_s=learned(state.took_s, serving.time_to_active_s),
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
        took = round(now - parse_iso(d.began_at), 3)
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
