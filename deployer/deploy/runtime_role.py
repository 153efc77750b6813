"""The runtime-role step of a deployment: the platform-created identity of a new version is given
Azure AI User on the project before the deployment may become ``active``.

The poll calls :func:`gate` each time it looks at a creating version. As soon as the version
reports its ``instance_identity``, the grant is attempted (while provisioning goes on); each
outcome is recorded on the deployment (``runtime_role``). The poll then sees the version as
still in progress while the grant is pending, and as failed (``runtime_role_failed``) when it
failed; retries ride on the poll's own backoff, one attempt per look.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from deployer.context import Context
from deployer.domain import roles
from deployer.domain.agents import AgentConfig
from deployer.domain.errors import RoleAssignmentError
from deployer.domain.model import Deployment
from deployer.domain.platform import VersionInfo
from deployer.domain.roles import RoleGrant

log = logging.getLogger(__name__)
#: The status the poll sees for an active version whose identity does not hold its role yet.
AWAITING_ROLE = "awaiting_runtime_role"
_SETTLED_VERSION = frozenset({"failed", "deleting", "deleted"})


def gate(
    ctx: Context, agent: AgentConfig, d: Deployment, info: VersionInfo
) -> tuple[Deployment, VersionInfo]:
    """Move the grant on, record it on ``d`` (not saved: the caller writes the record with what
    else the look changes), and return the record and the version as the rest of the poll must
    see it: unchanged once the grant is done (or skipped), still in progress while it is pending,
    failed when it failed. A grant made and not saved (a crash) is made again at the next look,
    which ARM answers as already present."""
    if info.status in _SETTLED_VERSION:
        return d, info
    grant = ensure_runtime_role(ctx, agent, d, info)
    if grant != d.runtime_role:
        d = replace(d, runtime_role=grant)
        log.info("deployment %s: runtime role %s (%s)", d.id, grant.status, grant.principal_id)
    return d, _as_seen(info, grant, agent.project_resource_id)


def ensure_runtime_role(ctx: Context, agent: AgentConfig, d: Deployment, info: VersionInfo) -> RoleGrant:
    """Where the grant stands after this look, making one ARM call when one is due. Settled
    grants are never repeated; ``grant_runtime_role: false`` is recorded as ``skipped``."""
    current = d.runtime_role
    if current is not None and current.status != "pending":
        return current
    if not agent.grant_runtime_role:
        return RoleGrant(status="skipped")
    principal = info.principal_id
    if principal is None:
        return roles.without_identity(current, version_active=info.status == "active", now=ctx.clock.now())
    if ctx.roles is None or agent.project_resource_id is None:
        missing = "no role-assignment client" if ctx.roles is None else "no project_resource_id"
        return RoleGrant(
            status="failed", principal_id=principal, error_code="NotConfigured", error_message=missing
        )
    return _attempt(ctx, agent.project_resource_id, agent.name, principal, current)


def _attempt(ctx: Context, scope: str, agent: str, principal: str, current: RoleGrant | None) -> RoleGrant:
    assert ctx.roles is not None
    try:
        created = ctx.roles.assign(roles.runtime_assignment(scope, principal, agent=agent))
    except RoleAssignmentError as exc:
        grant = roles.after_error(
            principal,
            current,
            code=exc.code,
            message=exc.message,
            status_code=exc.status_code,
            now=ctx.clock.now(),
        )
        log.warning("agent %s: granting %s to %s: %s", agent, roles.AZURE_AI_USER, principal, exc)
        return grant
    return roles.after_success(principal, current, created=created)


def _as_seen(info: VersionInfo, grant: RoleGrant, scope: str | None) -> VersionInfo:
    if grant.status == "failed":
        message = roles.failure_message(grant, scope)
        return replace(info, status="failed", error_code=roles.FAILED_CODE, error_message=message)
    if not grant.settled and info.status == "active":
        return replace(info, status=AWAITING_ROLE)
    return info
