"""Deployments waiting for approval: a deployment whose agent (or promotion) requires one waits in
``awaiting_approval`` before anything is created or moved (``approval_decisions``: a person approves
or rejects it; ``deployer.rollout.approval_wait``: the poll ends it when its request expires). A
newer deployment of the agent that waits too supersedes an older one still waiting, with a
conditional update from ``awaiting_approval``: of that and a decision, exactly one wins.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import replace

from deployer.context import Context, change_agent, retry_on_conflict
from deployer.domain.agents import AgentConfig
from deployer.domain.approval import Approval, ApprovalPolicy
from deployer.domain.clock import iso
from deployer.domain.errors import Conflict
from deployer.domain.model import AgentState, Deployment
from deployer.domain.platform import Scheduled
from deployer.domain.transitions import newer
from deployer.notify import outbox

log = logging.getLogger(__name__)
SUPERSEDED_REASON = "superseded_by_newer_deployment"


def policy_for(agent: AgentConfig, record: Deployment) -> ApprovalPolicy | None:
    """The approval ``record`` needs before it starts: the agent's (a promotion's target may carry
    its own on ``agent``); a rollback, the way back, never waits."""
    return None if record.source == "rollback" else agent.approval


def wait(ctx: Context, record: Deployment, policy: ApprovalPolicy) -> Deployment:
    """Write ``record`` ``awaiting_approval`` (its open-work row, due when the request expires,
    first), notify, and supersede the agent's other deployment still waiting, the older of the
    two. A redelivery finds the record written and finishes the supersede if a crash stopped it."""
    now = ctx.clock.now()
    request = Approval.request(policy, now=now)
    ctx.store.schedule_by(Scheduled(deployment_id=record.id, due=request.expires_at))
    try:
        waiting = ctx.store.add(record.moved_to("awaiting_approval", iso(now), approval=request))
        log.info(
            "deployment %s: %s awaits approval until %s", record.id, record.agent, iso(request.expires_at)
        )
    except Conflict:
        found = ctx.store.get(record.id)
        assert found is not None
        waiting = found
    if waiting.status != "awaiting_approval":
        return waiting
    _supersede_older(ctx, outbox.flush(ctx, waiting))
    return ctx.store.get(waiting.id) or waiting


def _supersede_older(ctx: Context, d: Deployment) -> None:
    """Make ``d`` the agent's newest deployment waiting (the agent row's ``awaiting_id``, changed
    conditionally), and supersede the one the row named as the row was when it was changed: of
    concurrent pushes each supersedes the one before it, never the same one twice."""
    seen: list[str | None] = []

    def newest(state: AgentState) -> AgentState | None:
        seen[:] = [state.awaiting_id]
        current = state.awaiting_id
        return replace(state, awaiting_id=d.id) if current is None or newer(d.id, current) else None

    with suppress(Conflict):  # five lost races: the older one still expires in its time
        change_agent(ctx, d.agent, newest)
    other = seen[0] if seen else None
    if other is None or other == d.id:
        return
    if newer(d.id, other):
        _supersede(ctx, other, by=d.id)
    else:  # a newer one waits already (deliveries out of order): this one is the older
        _supersede(ctx, d.id, by=other)


def _supersede(ctx: Context, deployment_id: str, *, by: str) -> None:
    def attempt() -> None:
        d = ctx.store.get(deployment_id)
        if d is None or d.status != "awaiting_approval":
            return  # decided meanwhile: the decision won
        note = f"deployment {by} of the agent came after it"
        done = ctx.store.update(
            d.moved_to("superseded", iso(ctx.clock.now()), note=note, reason=SUPERSEDED_REASON)
        )
        outbox.flush(ctx, done)
        ctx.store.unschedule(d.id)

    with suppress(Conflict):
        retry_on_conflict(attempt, gave_up=f"deployment {deployment_id}: not superseded")
