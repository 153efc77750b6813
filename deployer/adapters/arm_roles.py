"""Role assignments through azure-mgmt-authorization: the :class:`deployer.ports.RoleAssignments`
adapter. The SDK is imported on first use (cold start matters); one client per subscription.

On the wire (api-version 2022-04-01): ``PUT {endpoint}{scope}/providers/Microsoft.Authorization/
roleAssignments/{name}`` with ``{"properties": {"roleDefinitionId", "principalId",
"principalType", "description"}}``; 201 when made, and ``409 RoleAssignmentExists`` when the same
(scope, principal, role) is already assigned, under this name or another, which counts as done.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from azure.core.credentials import TokenCredential

from deployer.domain.errors import RoleAssignmentError
from deployer.domain.roles import RoleAssignment, subscription_of

if TYPE_CHECKING:
    from azure.mgmt.authorization import AuthorizationManagementClient

API_VERSION = "2022-04-01"
_EXISTS = "RoleAssignmentExists"


class AzureRoleAssignments:
    """Makes role assignments with the deployer's own credential, through ``endpoint`` (ARM)."""

    def __init__(
        self,
        credential: TokenCredential,
        *,
        endpoint: str = "https://management.azure.com",
        retry_total: int = 3,
        read_timeout_s: float = 30.0,
    ) -> None:
        self._credential = credential
        self._endpoint = endpoint.rstrip("/")
        self._options: dict[str, Any] = {"retry_total": retry_total, "read_timeout": read_timeout_s}
        self._clients: dict[str, AuthorizationManagementClient] = {}
        self._lock = threading.Lock()

    def assign(self, assignment: RoleAssignment) -> bool:
        from azure.core.exceptions import AzureError, HttpResponseError
        from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

        parameters = RoleAssignmentCreateParameters(
            role_definition_id=assignment.role_definition_id,
            principal_id=assignment.principal_id,
            principal_type=assignment.principal_type,
            description=assignment.description,
        )
        client = self._client(subscription_of(assignment.scope))
        try:
            client.role_assignments.create(assignment.scope, assignment.name, parameters)
        except HttpResponseError as exc:
            code, message = _arm_error(exc)
            if code == _EXISTS:
                return False
            raise RoleAssignmentError(code=code, message=message, status_code=exc.status_code) from exc
        except AzureError as exc:
            raise RoleAssignmentError(
                code="ServiceUnreachable", message=str(exc)[:500], status_code=None
            ) from exc
        return True

    def _client(self, subscription_id: str) -> AuthorizationManagementClient:
        with self._lock:
            client = self._clients.get(subscription_id)
            if client is None:
                from azure.mgmt.authorization import AuthorizationManagementClient

                client = AuthorizationManagementClient(
                    self._credential,
                    subscription_id,
                    api_version=API_VERSION,
                    base_url=self._endpoint,
                    credential_scopes=[f"{self._endpoint}/.default"],
                    **self._options,
                )
                self._clients[subscription_id] = client
            return client


def _arm_error(exc: Any) -> tuple[str, str]:
    """ARM's ``{"error": {"code", "message"}}``; the code, not the message, identifies the case
    (ARM has reworded ``RoleAssignmentExists``'s message within one api-version)."""
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) or f"http_{exc.status_code}"
    message = getattr(error, "message", None) or exc.message
    return str(code), str(message)[:1000]
