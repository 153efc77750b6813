"""The poll's side of approvals: a deployment awaiting approval ends ``rejected``
(``approval_expired``) when its request expires, and a canary step configured with
``{approve: true}`` waits for a person before it is taken (as Argo Rollouts' ``pause: {}``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from deployer.context import Context
from deployer.domain.agents import AgentConfig, CanarySettings
from deployer.domain.approval import (
    EXPIRED_REASON,
    REJECTED_REASON,
    Approval,
    ApprovalPolicy,
    Decision,
    decision_note,
)
from deployer.domain.clock import iso
from deployer.domain.model import Deployment, Transition
from deployer.domain.platform import Scheduled
from deployer.notify import outbox

#: ``approval_rejected`` / ``approval_expired``: the reasons (``deployer.domain.approval``) it stops with.
Gate = Literal["go", "wait", "approval_rejected", "approval_expired"]


def expire_or_wait(ctx: Context, d: Deployment, lease: Scheduled, now: float) -> None:
    """A deployment awaiting approval: end it ``rejected`` (``approval_expired``) once its request
    expired, else look again then."""
    assert d.approval is not None
    if not d.approval.expired(now):
        ctx.store.schedule(replace(lease, due=d.approval.expires_at))
        return
    outbox.flush(ctx, ctx.store.update(ended(d, "expired", None, None, now)))
    ctx.store.unschedule(d.id)


def ended(d: Deployment, decision: Decision, by: str | None, comment: str | None, now: float) -> Deployment:
    """``d`` after a rejection or the expiry of its request: ``rejected``, with the reason."""
    assert d.approval is not None
    at = iso(now)
    return d.moved_to(
        "rejected",
        at,
        note=decision_note(decision, by, comment),
        reason=EXPIRED_REASON if decision == "expired" else REJECTED_REASON,
        approval=d.approval.decided(decision, by=by, at=at, comment=comment),
    )


def decided(d: Deployment, decision: Decision, *, by: str, at: str, comment: str | None) -> Deployment:
    """A canary waiting at a step, once a person decided (the poll's step acts on it)."""
    assert d.approval is not None
    entry = Transition(status=decision, at=at, note=decision_note(decision, by, comment))
    return replace(
        d,
        updated_at=at,
        approval=d.approval.decided(decision, by=by, at=at, comment=comment),
        history=(*d.history, entry),
    )


def gate(ctx: Context, agent: AgentConfig, d: Deployment, lease: Scheduled, now: float) -> Gate:
    """Whether the canary's next step may be taken: ``go``; ``wait`` (the approval is asked for,
    once, and looked at again when it expires); or why the canary must stop."""
    assert d.canary is not None
    settings = agent.canary or CanarySettings()
    step = d.canary.step + 1
    if step not in settings.gates:
        return "go"
    asked = d.approval if d.approval is not None and d.approval.step == step else None
    if asked is not None and asked.decision == "approved":
        return "go"
    if asked is not None and asked.decision == "rejected":
        return "approval_rejected"
    if asked is not None and asked.expired(now):
        return "approval_expired"
    if asked is None:
        asked = _ask(
            ctx, agent.approval or ApprovalPolicy(), d, step=step, percentage=settings.steps[step], now=now
        )
    ctx.store.schedule(replace(lease, due=asked.expires_at))
    return "wait"


def _ask(
    ctx: Context, policy: ApprovalPolicy, d: Deployment, *, step: int, percentage: int, now: float
) -> Approval:
    request = Approval.request(policy, now=now, step=step)
    note = f"the canary step to {percentage}% waits for approval until {iso(request.expires_at)}"
    asking = replace(
        d,
        updated_at=iso(now),
        approval=request,
        history=(
            *d.history,
            Transition(status="awaiting_approval", at=iso(now), note=note, percentage=percentage),
        ),
        pending_events=(*d.pending_events, f"deployment.awaiting_approval:{percentage}"),
    )
    outbox.flush(ctx, ctx.store.update(asking))
    return request
