"""Promotion: once a deployment of an agent is ``verified`` (its canary, if any, finished), the
same image, by digest, is deployed to the agent its ``promote_to`` names (maybe in another
project), by that agent's own rules, smoke test and rollout, as ``source: promotion``.

The two are linked both ways (``promoted_to`` / ``promoted_from``). The target's id is claimed
with the idempotency key ``promote|<source id>|<target>`` before anything is written, so the
poll repeating the settle step after a crash, or a person asking again, starts it once.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import replace

from deployer.context import Context, retry_on_conflict
from deployer.deploy import start
from deployer.domain import rollout
from deployer.domain.agents import AgentConfig
from deployer.domain.approval import ApprovalPolicy
from deployer.domain.clock import iso
from deployer.domain.errors import Conflict, Refused
from deployer.domain.model import Deployment, Transition, new_deployment_id
from deployer.domain.pushes import ImagePush
from deployer.notify import outbox

log = logging.getLogger(__name__)


class NotPromotable(Refused):
    """The source agent has no verified deployment to promote."""

    def __init__(self, detail: str) -> None:
        super().__init__("not-promotable", detail)


def after_verified(ctx: Context, agent: AgentConfig, d: Deployment) -> None:
    """After a deployment settles ``verified`` (the poll's follow-up): promote it if its agent says where."""
    if agent.promote_to is None or d.status != "verified":
        return
    to = agent.promote_to
    promote_deployment(ctx, d, to.agent, endpoint=to.project_endpoint, approval=to.approval, automatic=True)


def promote_to_agent(
    ctx: Context, source_agent: str, target: str, *, requested_by: str | None = None
) -> Deployment:
    """On demand: deploy ``source_agent``'s serving deployment, which must be ``verified``, to
    ``target``. :class:`Refused` (``unknown-agent``) for an unknown agent, :class:`NotPromotable`
    otherwise."""
    source_cfg = ctx.config.configured(source_agent)
    ctx.config.configured(target)
    if target == source_agent:
        raise NotPromotable("an agent cannot be promoted to itself")
    active_id = ctx.store.get_agent(source_agent).active_id
    source = ctx.store.get(active_id) if active_id else None
    if source is None or source.status != "verified":
        raise NotPromotable(f"agent {source_agent} has no verified deployment serving")
    to = source_cfg.promote_to if source_cfg.promote_to and source_cfg.promote_to.agent == target else None
    endpoint, approval = (to.project_endpoint, to.approval) if to else (None, None)
    return promote_deployment(
        ctx, source, target, endpoint=endpoint, approval=approval, requested_by=requested_by
    )


def promote_deployment(
    ctx: Context,
    source: Deployment,
    target: str,
    *,
    endpoint: str | None = None,
    approval: ApprovalPolicy | None = None,
    requested_by: str | None = None,
    automatic: bool = False,
) -> Deployment:
    """Start (once) the deployment of ``source``'s image to ``target`` and link the two.
    ``automatic`` (after ``verified``, nobody asked): a paused target, or one holding the
    digest, records the promotion ``skipped`` (``paused`` / ``held``) and deploys nothing. That
    record has its own key, so a person asking later still promotes."""
    target_cfg = ctx.config.configured(target)
    if endpoint:
        target_cfg = replace(target_cfg, project_endpoint=endpoint)
    if approval is not None:
        target_cfg = replace(target_cfg, approval=approval)
    key = f"promote|{source.id}|{target}"
    blocked = automatic and rollout.push_blocked(ctx.store.get_agent(target), source.digest) is not None
    target_id = ctx.store.claim(f"{key}|blocked" if blocked else key, new_deployment_id(ctx.clock.now()))
    promoted = ctx.store.get(target_id) or _start(
        ctx, source, target_cfg, target_id, requested_by=requested_by, automatic=automatic
    )
    if promoted.status == "skipped":
        return promoted
    if blocked:  # resumed in the meantime: it deployed, so it is the promotion
        ctx.store.claim(key, promoted.id)
    _link(ctx, source.id, promoted)
    return promoted


def _start(
    ctx: Context,
    source: Deployment,
    target: AgentConfig,
    target_id: str,
    *,
    requested_by: str | None,
    automatic: bool,
) -> Deployment:
    push = ImagePush(
        registry=source.registry or "",
        repository=source.repository or "",
        tag=None if source.digest else source.tag,
        digest=source.digest,
    )
    reason = f"promoted from {source.agent} deployment {source.id} (version {source.version})"
    log.info("deployment %s: %s promoted to %s as %s", source.id, source.agent, target.name, target_id)
    return start.start_deployment(
        ctx,
        target,
        push,
        source="promotion",
        requested_by=requested_by,
        deployment_id=target_id,
        reason=reason,
        promoted_from=source.id,
        automatic=automatic,
    )


def _link(ctx: Context, source_id: str, promoted: Deployment) -> None:
    """Record ``promoted_to`` on the source, with a ``promoted`` history entry and event."""

    def attempt() -> None:
        source = ctx.store.get(source_id)
        if source is None or source.promoted_to == promoted.id:
            return
        at = iso(ctx.clock.now())
        note = f"promoted to {promoted.agent} as deployment {promoted.id}"
        linked = replace(
            source,
            promoted_to=promoted.id,
            history=(*source.history, Transition(status="promoted", at=at, note=note)),
            pending_events=(*source.pending_events, "deployment.promoted"),
        )
        outbox.flush(ctx, ctx.store.update(linked))

    with suppress(Conflict):  # the promoted deployment names its source (promoted_from) either way
        retry_on_conflict(attempt, gave_up=f"deployment {source_id}: promotion not linked")
