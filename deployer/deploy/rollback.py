"""Rollback by traffic: the version to go back to still exists, so the agent's traffic moves to
it at once and no version is created.

The record is written ``pending`` (``rollout: instant``, its ``version`` set) with an open-work
row before the selector is touched; :func:`finish` moves the traffic and settles it ``active``.
If the process dies in between, the poll finds the pending record and calls :func:`finish`
again: it reads the selector and writes only what differs. The digest rolled away from is held
first, so no push redeploys it meanwhile.
"""

from __future__ import annotations

import logging

from deployer.context import Context
from deployer.deploy.start import write_pending
from deployer.domain.agents import AgentConfig
from deployer.domain.clock import iso
from deployer.domain.errors import PlatformError
from deployer.domain.hints import PROJECT_NOT_FOUND
from deployer.domain.model import Deployment, new_deployment_id
from deployer.rollout import holds, settle, traffic

log = logging.getLogger(__name__)


def rollback_by_traffic(
    ctx: Context,
    agent: AgentConfig,
    target: Deployment,
    *,
    requested_by: str | None = None,
    reason: str | None = None,
    deployment_id: str | None = None,
) -> Deployment | None:
    """Give ``target``'s version all of ``agent``'s traffic again, recorded as a new deployment
    (``source: rollback``, ``rollout: instant``); ``None`` when that version is gone or not
    active (then a new version of its image is the way back, as before)."""
    endpoint = ctx.endpoint_of(agent, target)
    if not _still_serves(ctx, endpoint, agent.name, target):
        return None
    now = ctx.clock.now()
    new_id = deployment_id or new_deployment_id(now)
    record = _record(target, endpoint, new_id, now, requested_by=requested_by, reason=reason)
    held = holds.hold_rolled_away(
        ctx, agent.name, to_digest=target.digest, by=requested_by, deployment_id=record.id
    )
    pending, ours = write_pending(ctx, record, note=held)
    return finish(ctx, agent, pending) if ours else pending


def finish(ctx: Context, agent: AgentConfig, record: Deployment) -> Deployment:
    """Move the traffic to the record's version and settle it ``active``. Safe to repeat."""
    traffic.move_to(ctx, agent, record)
    traffic.serve_protocols(ctx, agent, record)
    settle.settle(ctx, agent, record, note=f"traffic moved back to version {record.version}")
    log.info(
        "deployment %s: %s rolled back to version %s by traffic", record.id, record.agent, record.version
    )
    return ctx.store.get(record.id) or record


def _still_serves(ctx: Context, endpoint: str, agent: str, target: Deployment) -> bool:
    if target.version is None or target.version_deleted_at:
        return False
    try:
        info = ctx.platform.get_version(endpoint, agent, target.version)
    except PlatformError as exc:
        if exc.status_code == 404 and exc.code != PROJECT_NOT_FOUND:
            return False
        raise
    return info.status == "active"


def _record(
    target: Deployment,
    endpoint: str,
    deployment_id: str,
    now: float,
    *,
    requested_by: str | None,
    reason: str | None,
) -> Deployment:
    return Deployment.begin(
        deployment_id,
        agent=target.agent,
        image=target.image,
        status="pending",
        source="rollback",
        at=iso(now),
        of=target,
        reason=reason or f"rollback to deployment {target.id} (version {target.version}) by traffic",
        version=target.version,
        project_endpoint=endpoint,
        requested_by=requested_by,
        rollout="instant",
    )
