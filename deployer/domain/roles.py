"""The runtime role of a hosted agent's identity: what to assign, under which name, and what to
do after each attempt. Pure: no I/O, no Azure imports.

The platform creates an Entra identity for each hosted-agent version; it needs **Azure AI User**
on the Foundry project to call models and tools. The assignment's name is a deterministic GUID of
(scope, principal, role), so repeating the grant never makes a second assignment, and ARM's
``RoleAssignmentExists`` counts as done. ``PrincipalNotFound`` right after the identity appears is
Entra replication, retried across poll ticks for :data:`RETRY_FOR_S`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: Built-in role "Azure AI User".
AZURE_AI_USER_ROLE_ID = "53ca6127-db72-4b80-b1b0-d745d6d5456d"
AZURE_AI_USER = "Azure AI User"
#: How long retryable answers (PrincipalNotFound, throttling, 5xx, no identity yet on an active
#: version) are retried, from the first one, before the grant fails.
RETRY_FOR_S = 300.0
#: The error code a deployment fails with when its identity could not be given its role.
FAILED_CODE = "runtime_role_failed"

GrantStatus = Literal["pending", "granted", "already_present", "failed", "skipped"]
_SETTLED: frozenset[str] = frozenset({"granted", "already_present", "skipped"})
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:agent-deployer:role-assignment")
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
PROJECT_RESOURCE_ID = re.compile(
    rf"^/subscriptions/(?P<subscription>{_GUID})/resourceGroups/[^/]+/providers/"
    r"Microsoft\.CognitiveServices/accounts/[^/]+/projects/[^/]+$",
    re.IGNORECASE,
)
HOW_TO_FIND_PROJECT_RESOURCE_ID = (
    "the Foundry project's ARM resource id, /subscriptions/<subscription>/resourceGroups/<group>/"
    "providers/Microsoft.CognitiveServices/accounts/<account>/projects/<project>: the project's "
    "Properties or JSON View page in the Azure portal shows it (Resource ID), or run "
    "'az resource show -g <group> -n <account>/<project> --resource-type "
    "Microsoft.CognitiveServices/accounts/projects --query id -o tsv'"
)
_RETRYABLE_CODES = frozenset({"PrincipalNotFound"})


@dataclass(frozen=True, kw_only=True)
class RoleAssignment:
    """One role assignment to make: ``name`` is its GUID, ``role_definition_id`` a full ARM id."""

    scope: str
    name: str
    principal_id: str
    role_definition_id: str
    principal_type: str = "ServicePrincipal"
    description: str | None = None


@dataclass(frozen=True, kw_only=True)
class RoleGrant:
    """Where a deployment's runtime-role step stands; recorded on the deployment.

    ``since`` is when the first retryable failure happened (seconds since the epoch): the
    grant gives up :data:`RETRY_FOR_S` after it.
    """

    status: GrantStatus
    principal_id: str | None = None
    attempts: int = 0
    since: float | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def settled(self) -> bool:
        """Whether the deployment may become active: granted, already present, or skipped."""
        return self.status in _SETTLED

    def to_json(self) -> dict[str, Any]:
        """The ``runtime_role`` of the deployment document (and its stored form)."""
        error = {"code": self.error_code, "message": self.error_message} if self.error_code else None
        return {
            "status": self.status,
            "principal_id": self.principal_id,
            "attempts": self.attempts,
            "since": self.since,
            "error": error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoleGrant:
        error = data.get("error") or {}
        return cls(
            status=data["status"],
            principal_id=data.get("principal_id"),
            attempts=int(data.get("attempts") or 0),
            since=data.get("since"),
            error_code=error.get("code"),
            error_message=error.get("message"),
        )


def is_project_resource_id(value: str) -> bool:
    return PROJECT_RESOURCE_ID.fullmatch(value) is not None


def subscription_of(scope: str) -> str:
    """The subscription id a project resource id lives in."""
    match = PROJECT_RESOURCE_ID.fullmatch(scope)
    if match is None:
        raise ValueError(f"not a Foundry project resource id: {scope!r}")
    return match.group("subscription")


def assignment_name(scope: str, principal_id: str, role_id: str) -> str:
    """The deterministic GUID of (scope, principal, role); ARM ids are case-insensitive."""
    return str(uuid.uuid5(_NAMESPACE, f"{scope.lower()}|{principal_id.lower()}|{role_id.lower()}"))


def runtime_assignment(scope: str, principal_id: str, *, agent: str) -> RoleAssignment:
    """Azure AI User on the project ``scope`` for the agent identity ``principal_id``."""
    subscription = subscription_of(scope)
    return RoleAssignment(
        scope=scope,
        name=assignment_name(scope, principal_id, AZURE_AI_USER_ROLE_ID),
        principal_id=principal_id,
        role_definition_id=(
            f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/"
            f"{AZURE_AI_USER_ROLE_ID}"
        ),
        description=f"agent-deployer: runtime access of hosted agent {agent}",
    )


def after_success(principal_id: str, previous: RoleGrant | None, *, created: bool) -> RoleGrant:
    """The grant once ARM holds the assignment (made now, or found already there)."""
    return RoleGrant(
        status="granted" if created else "already_present",
        principal_id=principal_id,
        attempts=_attempts(previous, principal_id) + 1,
    )


def after_error(
    principal_id: str,
    previous: RoleGrant | None,
    *,
    code: str,
    message: str,
    status_code: int | None,
    now: float,
) -> RoleGrant:
    """The grant after ARM refused: ``pending`` while a retryable error is young, else ``failed``."""
    same = previous is not None and previous.principal_id == principal_id
    since = previous.since if same and previous and previous.since is not None else now
    retry = is_retryable(code, status_code) and now - since < RETRY_FOR_S
    return RoleGrant(
        status="pending" if retry else "failed",
        principal_id=principal_id,
        attempts=_attempts(previous, principal_id) + 1,
        since=since,
        error_code=code,
        error_message=message,
    )


def without_identity(previous: RoleGrant | None, *, version_active: bool, now: float) -> RoleGrant:
    """The grant while the platform reports no ``instance_identity``: waiting while the version
    is creating; once it is active, for :data:`RETRY_FOR_S` at most."""
    if not version_active:
        return previous or RoleGrant(status="pending")
    since = previous.since if previous is not None and previous.since is not None else now
    expired = now - since >= RETRY_FOR_S
    return RoleGrant(
        status="failed" if expired else "pending",
        attempts=previous.attempts if previous else 0,
        since=since,
        error_code="IdentityMissing",
        error_message="the version is active but the platform reports no instance_identity for it",
    )


def is_retryable(code: str, status_code: int | None) -> bool:
    """Replication delays, throttling, server errors and unreachable ARM are worth another try."""
    return code in _RETRYABLE_CODES or status_code is None or status_code == 429 or status_code >= 500


def failure_message(grant: RoleGrant, scope: str | None) -> str:
    """The deployment's error message when the grant failed."""
    who = f"agent identity {grant.principal_id}" if grant.principal_id else "the agent identity"
    where = f" on {scope}" if scope else ""
    return f"{AZURE_AI_USER} could not be assigned to {who}{where}: {grant.error_code}: {grant.error_message}"


def _attempts(previous: RoleGrant | None, principal_id: str) -> int:
    if previous is None or previous.principal_id not in (None, principal_id):
        return 0
    return previous.attempts
