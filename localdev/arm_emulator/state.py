"""The ARM emulator's in-memory state: role assignments, admin settings and the request log.

Everything is guarded by one lock. Role assignments behave as ARM's do: one per (scope,
principal, role); a PUT of the same assignment under its own name again succeeds (200), under
another name it is ``409 RoleAssignmentExists``. Scopes must exist (the ``scopes`` setting).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from localdev.https_server import StandInError

ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"


class ArmError(StandInError):
    """An ARM-shaped error reply: ``{"error": {"code", "message"}}`` with an HTTP status."""

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """``principal_not_found``: how many PUTs for each new principal are answered
    ``400 PrincipalNotFound`` (Entra replication) before it is known; ``forbidden``: every write is
    ``403 AuthorizationFailed`` (the caller lacks roleAssignments/write); ``scopes``: the resource
    ids that exist, with their resource groups and subscriptions (``None``: every scope exists)."""

    principal_not_found: int = 0
    forbidden: bool = False
    scopes: list[str] | None = field(default=None)

    def updated(self, payload: Any) -> Settings:
        if not isinstance(payload, dict):
            raise ArmError(400, "InvalidSettings", "The settings must be a JSON object.")
        unknown = sorted(set(payload) - set(asdict(self)))
        if unknown:
            raise ArmError(400, "InvalidSettings", f"Unknown settings: {', '.join(unknown)}.")
        count = payload.get("principal_not_found", self.principal_not_found)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ArmError(400, "InvalidSettings", "principal_not_found must be a whole number >= 0.")
        forbidden = payload.get("forbidden", self.forbidden)
        if not isinstance(forbidden, bool):
            raise ArmError(400, "InvalidSettings", "forbidden must be true or false.")
        scopes = payload.get("scopes", self.scopes)
        if scopes is not None and not (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
            raise ArmError(400, "InvalidSettings", "scopes must be a list of resource ids or null.")
        return replace(self, principal_not_found=count, forbidden=forbidden, scopes=scopes)

    def check_scope(self, scope: str) -> None:
        """404 as ARM answers for a subscription, resource group or resource that does not exist."""
        if self.scopes is None or self._exists(scope):
            return
        parts = scope.rstrip("/").split("/")
        if not self._exists("/".join(parts[:3])):
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{parts[2]}' could not be found.")
        if not self._exists("/".join(parts[:5])):
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{parts[4]}' could not be found.")
        resource = scope.split("/providers/", 1)[-1]
        message = f"The Resource '{resource}' under resource group '{parts[4]}' was not found."
        raise ArmError(404, "ResourceNotFound", message)

    def _exists(self, scope: str) -> bool:
        """A known resource id, or a resource group or subscription holding one."""
        wanted = scope.rstrip("/").lower()
        return any(k.lower() == wanted or k.lower().startswith(wanted + "/") for k in self.scopes or ())


def assignment_id(scope: str, name: str) -> str:
    return f"{scope}/providers/{ASSIGNMENT_TYPE}/{name}"


class ArmState:
    """Role assignments by id, the settings, replication of principals, and the request log."""

    def __init__(self, clock: Callable[[], float] = time.time, baseline: Settings | None = None) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._baseline = baseline or Settings()
        self.reset()

    def reset(self) -> None:
        """Forget all assignments, principals and logged requests; settings go back to the baseline."""
        with self._lock:
            self._assignments: dict[str, dict[str, Any]] = {}
            self._not_found_given: dict[str, int] = {}
            self._known: set[str] = set()
            self._settings = self._baseline
            self._requests: list[dict[str, Any]] = []

    def settings(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._settings)

    def update_settings(self, payload: Any) -> dict[str, Any]:
        with self._lock:
            self._settings = self._settings.updated(payload)
            return asdict(self._settings)

    def log(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._requests)

    def assignments(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._assignments.values()))

    def check_write(self, caller: str, action: str, target: str) -> None:
        """``403 AuthorizationFailed`` when the caller is set to be forbidden."""
        with self._lock:
            forbidden = self._settings.forbidden
        if forbidden:
            raise ArmError(
                403,
                "AuthorizationFailed",
                f"The client '{caller}' with object id '{caller}' does not have authorization to "
                f"perform action '{action}' over scope '{target}' or the scope is invalid. If access "
                "was recently granted, please refresh your credentials.",
            )

    def check_scope(self, scope: str) -> None:
        """404 unless ``scope`` exists."""
        with self._lock:
            settings = self._settings
        settings.check_scope(scope)

    def create(
        self, scope: str, name: str, properties: dict[str, Any], caller: str
    ) -> tuple[dict[str, Any], bool]:
        """Create the assignment (``True``: 201) or find it made already under this name
        (``False``: 200), or raise as ARM does: not found yet, exists under another name, a change."""
        key = assignment_id(scope, name).lower()
        principal, role = properties["principalId"].lower(), properties["roleDefinitionId"].lower()
        with self._lock:
            self._check_principal(principal)
            existing = self._assignments.get(key)
            if existing is not None and not _same(existing, principal, role):
                raise ArmError(
                    409,
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
                )
            if existing is not None:
                return copy.deepcopy(existing), False
            if any(
                a["properties"]["scope"].lower() == scope.lower() and _same(a, principal, role)
                for a in self._assignments.values()
            ):
                raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
            record = self._record(scope, name, properties, caller)
            self._assignments[key] = record
            return copy.deepcopy(record), True

    def get(self, scope: str, name: str) -> dict[str, Any]:
        with self._lock:
            found = self._assignments.get(assignment_id(scope, name).lower())
        if found is None:
            raise ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")
        return copy.deepcopy(found)

    def delete(self, scope: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._assignments.pop(assignment_id(scope, name).lower(), None)

    def _check_principal(self, principal: str) -> None:
        if principal in self._known:
            return
        given = self._not_found_given.get(principal, 0)
        if given < self._settings.principal_not_found:
            self._not_found_given[principal] = given + 1
            raise ArmError(
                400,
                "PrincipalNotFound",
                f"Principal {principal.replace('-', '')} does not exist in the directory "
                "00000000-0000-0000-0000-00000000000e. Check that you have the correct principal ID. "
                "If you are creating this principal and then immediately assigning a role, this "
                "error might be related to a replication delay. In this case, set the role "
                "assignment principalType property to a value, such as ServicePrincipal, User, or "
                "Group.  See https://aka.ms/docs-principaltype",
            )
        self._known.add(principal)

    def _record(self, scope: str, name: str, properties: dict[str, Any], caller: str) -> dict[str, Any]:
        now = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
        return {
            "properties": {
                "roleDefinitionId": properties["roleDefinitionId"],
                "principalId": properties["principalId"],
                "principalType": properties.get("principalType") or "User",
                "scope": scope,
                "condition": properties.get("condition"),
                "conditionVersion": properties.get("conditionVersion"),
                "createdOn": now,
                "updatedOn": now,
                "createdBy": None,
                "updatedBy": caller,
                "delegatedManagedIdentityResourceId": None,
                "description": properties.get("description"),
            },
            "id": assignment_id(scope, name),
            "type": ASSIGNMENT_TYPE,
            "name": name,
        }


def _same(assignment: dict[str, Any], principal: str, role: str) -> bool:
    props = assignment["properties"]
    return bool(props["principalId"].lower() == principal and props["roleDefinitionId"].lower() == role)
