"""The ARM emulator's in-memory state: role assignments, admin settings and the request log.

Everything is guarded by one lock. Role assignments behave as ARM's do: one per (scope,
principal, role), whatever its name; a PUT of an existing one is ``409 RoleAssignmentExists``.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"


class ArmError(Exception):
    """An ARM-shaped error reply: ``{"error": {"code", "message"}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """``principal_not_found``: how many PUTs for each new principal are answered
    ``400 PrincipalNotFound`` (Entra replication) before it is known; ``forbidden``: every write is
    ``403 AuthorizationFailed`` (the caller lacks roleAssignments/write)."""

    principal_not_found: int = 0
    forbidden: bool = False

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
        return replace(self, principal_not_found=count, forbidden=forbidden)


def assignment_id(scope: str, name: str) -> str:
    return f"{scope}/providers/{ASSIGNMENT_TYPE}/{name}"


class ArmState:
    """Role assignments by id, the settings, replication of principals, and the request log."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        """Forget all assignments, principals, settings and logged requests."""
        with self._lock:
            self._assignments: dict[str, dict[str, Any]] = {}
            self._not_found_given: dict[str, int] = {}
            self._known: set[str] = set()
            self._settings = Settings()
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

    def create(self, scope: str, name: str, properties: dict[str, Any], caller: str) -> dict[str, Any]:
        """Create the assignment (201), or raise as ARM does: not found yet, exists, or a change."""
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
            if existing is not None or any(
                a["properties"]["scope"].lower() == scope.lower() and _same(a, principal, role)
                for a in self._assignments.values()
            ):
                raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
            record = self._record(scope, name, properties, caller)
            self._assignments[key] = record
            return copy.deepcopy(record)

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
