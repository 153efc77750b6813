"""A person's decision on a deployment awaiting approval (API, CLI, dashboard): :func:`approve` starts
it (its version is created) or lets its canary take the step it waits at; :func:`reject` ends it
``rejected`` (a canary step's: the canary is rolled back).

Every decision is one conditional update from the waiting record (retried from a fresh read after
a lost race), so of an approval, a rejection, a supersede and the expiry racing each other exactly
one wins; asking for the decision already made answers the record as it is.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from deployer.context import Context, retry_on_conflict
from deployer.deploy import canary_wake, create, poll
from deployer.domain import rollout
from deployer.domain.agents import AgentConfig
from deployer.domain.approval import Caller, Decision, decision_note, may_decide
from deployer.domain.clock import iso
from deployer.domain.errors import PlatformError, Refused
from deployer.domain.model import Deployment, Transition
from deployer.domain.platform import Scheduled
from deployer.domain.transitions import PENDING_GRACE_S
from deployer.notify import outbox
from deployer.rollout import approval_wait

log = logging.getLogger(__name__)
_BUSY = "deployment {} is being decided by too many requests at once; retry"


class NotAwaitingApproval(Refused):
    """The deployment does not wait for an approval (any more): nothing to decide."""

    def __init__(self, detail: str) -> None:
        super().__init__("not-awaiting-approval", detail)


def approve(ctx: Context, deployment_id: str, caller: Caller) -> Deployment:
    """Approve: the deployment starts (its version is created), or the canary step it waits at is
    taken. Approving what is approved already answers the record."""
    d = _decide(ctx, deployment_id, caller, "approved", None)
    if d.status == "canary":
        return _wake(ctx, d)
    if d.status != "pending":
        return d
    agent = _agent(ctx, d)
    try:
        return create.create_version_for(ctx, agent, d)
    except PlatformError:
        log.warning("deployment %s: approved; Foundry did not answer, the poll creates the version", d.id)
        return ctx.store.get(d.id) or d


def reject(ctx: Context, deployment_id: str, caller: Caller, comment: str | None) -> Deployment:
    """Reject: the deployment ends ``rejected`` (a canary step's: the canary is rolled back)."""
    d = _decide(ctx, deployment_id, caller, "rejected", comment)
    if d.status == "canary":
        return _wake(ctx, d)
    return d


def _decide(
    ctx: Context, deployment_id: str, caller: Caller, decision: Decision, comment: str | None
) -> Deployment:
    def attempt() -> Deployment:
        d = ctx.store.get(deployment_id)
        if d is None:
            raise Refused("not-found", f"no deployment {deployment_id}; list them at /api/deployments")
        approval = d.approval
        if approval is not None and approval.decision == decision:
            return d  # asked again: the decision stands
        waiting = approval is not None and approval.waiting
        if not waiting or d.status not in ("awaiting_approval", "canary"):
            raise NotAwaitingApproval(_not_waiting(d))
        assert approval is not None
        if not may_decide(approval.approvers, caller):
            raise _forbidden(caller, approval.approvers)
        now = ctx.clock.now()
        if approval.expired(now):
            raise NotAwaitingApproval(
                f"deployment {d.id}: the approval request expired at {iso(approval.expires_at)}"
            )
        if d.status == "canary":
            return ctx.store.update(
                approval_wait.decided(d, decision, by=caller.name, at=iso(now), comment=comment)
            )
        if decision == "approved":
            _refuse_if_blocked(ctx, d)
        return _record_decision(ctx, d, decision, by=caller.name, comment=comment, now=now)

    return retry_on_conflict(attempt, gave_up=_BUSY.format(deployment_id))


def _refuse_if_blocked(ctx: Context, d: Deployment) -> None:
    """The pause and holds were checked when the push came; the agent may have been paused, or the
    digest held, since. What would skip the push now keeps the approval from starting it: the
    deployment keeps waiting (approved after a resume or release, rejected, or expired)."""
    state = ctx.store.get_agent(d.agent)
    blocked = rollout.deployment_blocked(state, d)
    if blocked is None:
        return
    if blocked == "paused":
        by = f" by {state.paused_by}" if state.paused_by else ""
        why = f"agent {d.agent} is paused{by}: resume it (agent-deployer resume {d.agent})"
    else:
        why = f"agent {d.agent} holds {d.digest}: release it (agent-deployer unhold {d.agent} {d.digest})"
    detail = f"deployment {d.id} cannot start: {why}, then approve again, or reject it"
    raise Refused("paused-or-held", detail, reason=blocked)


def _record_decision(
    ctx: Context, d: Deployment, decision: Decision, *, by: str, comment: str | None, now: float
) -> Deployment:
    if decision == "rejected":
        rejected = ctx.store.update(approval_wait.ended(d, "rejected", by, comment, now))
        rejected = outbox.flush(ctx, rejected)
        ctx.store.unschedule(d.id)
        return rejected
    assert d.approval is not None
    at = iso(now)
    approved = replace(
        d,
        approval=d.approval.decided("approved", by=by, at=at, comment=comment),
        history=(
            *d.history,
            Transition(status="approved", at=at, note=decision_note("approved", by, comment)),
        ),
    )
    # The open-work row first: if this process dies, the poll reconciles the pending record.
    ctx.store.schedule(Scheduled(deployment_id=d.id, due=now + PENDING_GRACE_S))
    return ctx.store.update(approved.moved_to("pending", at))


def _wake(ctx: Context, d: Deployment) -> Deployment:
    """A canary step decided: the poll's own step acts on it now (or a tick holding it, when its
    lease ends)."""
    canary_wake.wake(ctx, d.id)
    return ctx.store.get(d.id) or d


def _agent(ctx: Context, d: Deployment) -> AgentConfig:
    agent = ctx.config.agent(d.agent) or poll.unconfigured(d)
    return replace(agent, project_endpoint=d.project_endpoint) if d.project_endpoint else agent


def _not_waiting(d: Deployment) -> str:
    if d.approval is not None and d.approval.decision is not None:
        by = f" by {d.approval.by}" if d.approval.by else ""
        return f"deployment {d.id} was {d.approval.decision}{by} already; it is {d.status}"
    return f"deployment {d.id} is {d.status}: it does not wait for an approval"


def _forbidden(caller: Caller, approvers: tuple[str, ...]) -> Refused:
    if approvers:
        return Refused(
            "forbidden",
            f"{caller.name} may not decide this approval: it needs one of {', '.join(approvers)} "
            "(a principal name or an app role)",
            approvers=list(approvers),
        )
    return Refused("forbidden", f"{caller.name} does not have the write role the approval needs")
