"""Routes of the ARM emulator: the role-assignment endpoints and the admin API.

``PUT|GET|DELETE {scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=``
as ``azure-mgmt-authorization`` sends them, checked as ARM checks them (bearer token,
api-version, GUID name, role definition id, principal id), with ARM's error codes.

Admin (no authentication, not logged):

``GET|PUT /_emulator/settings``
    ``{"principal_not_found": 0, "forbidden": false, "scopes": null}``; PUT replaces the keys it
    names. ``scopes``: the resource ids that exist (with their resource groups and subscriptions);
    a role assignment elsewhere is a 404; ``null``: every well-formed scope exists.
``GET /_emulator/requests``
    ``{"requests": [{"time", "method", "path", "query", "headers", "body", "status"}]}``, oldest
    first, the bearer token shown as ``Bearer ***``.
``GET /_emulator/assignments``
    ``{"assignments": [...]}``: the role assignments held, as ARM returns them.
``POST /_emulator/reset``
    Forget assignments, principals and logged requests; settings go back to those given at start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from localdev import https_server
from localdev.arm_emulator.state import ArmError, ArmState

ADMIN_PREFIX = "/_emulator"
API_VERSIONS: tuple[str, ...] = (
    "2015-07-01",
    "2018-01-01-preview",
    "2018-09-01-preview",
    "2020-04-01-preview",
    "2020-10-01-preview",
    "2022-04-01",
)
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ASSIGNMENT_PATH = re.compile(
    r"^(?P<scope>/.+?)/providers/Microsoft\.Authorization/roleAssignments/(?P<name>[^/]+)/?$", re.I
)
_SCOPE = re.compile(
    rf"^/subscriptions/(?P<subscription>{_GUID})(?:/resourceGroups/[^/]+(?:/providers/.+)?)?$", re.I
)
_ROLE_DEFINITION = re.compile(
    rf"^(?:/subscriptions/(?P<subscription>{_GUID}))?/providers/Microsoft\.Authorization/"
    rf"roleDefinitions/(?P<role>{_GUID})$",
    re.I,
)
#: Built-in roles the emulator knows (others are "RoleDefinitionDoesNotExist").
KNOWN_ROLES = {
    "53ca6127-db72-4b80-b1b0-d745d6d5456d": "Azure AI User",
    "eadc314b-1a2d-4efa-be10-5d325db5065e": "Azure AI Project Manager",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
}
PRINCIPAL_TYPES = frozenset({"User", "Group", "ServicePrincipal", "ForeignGroup", "Device"})
_CALLER = "00000000-0000-0000-0000-0000000000ca"


class Request(https_server.Request):
    """One ARM request; an unreadable body is ARM's 400 ``InvalidRequestContent``."""

    def invalid(self, message: str) -> Exception:
        return ArmError(400, "InvalidRequestContent", message)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def dispatch(state: ArmState, request: Request) -> Reply:
    """Serve one request; ARM requests are logged with the status answered."""
    if request.path == ADMIN_PREFIX or request.path.startswith(ADMIN_PREFIX + "/"):
        return _guarded(lambda: _admin(state, request))
    reply = _guarded(lambda: _arm(state, request))
    state.log(_log_entry(request, reply.status))
    return reply


def _guarded(serve: Any) -> Reply:
    try:
        reply: Reply = serve()
        return reply
    except ArmError as error:
        return Reply(error.status, error.body(), error.headers)


def _admin(state: ArmState, request: Request) -> Reply:
    route = (request.method, request.path.rstrip("/"))
    if route == ("GET", "/_emulator/settings"):
        return Reply(200, state.settings())
    if route == ("PUT", "/_emulator/settings"):
        return Reply(200, state.update_settings(request.json()))
    if route == ("GET", "/_emulator/requests"):
        return Reply(200, {"requests": state.requests()})
    if route == ("GET", "/_emulator/assignments"):
        return Reply(200, {"assignments": state.assignments()})
    if route == ("POST", "/_emulator/reset"):
        state.reset()
        return Reply(200, {"reset": True})
    raise ArmError(404, "NotFound", f"No admin route for {request.method} {request.path}.")


def _arm(state: ArmState, request: Request) -> Reply:
    _authenticate(request)
    match = _ASSIGNMENT_PATH.match(request.path)
    if match is None:
        raise ArmError(404, "NotFound", f"The emulator serves only role assignments, not {request.path}.")
    _check_api_version(request)
    scope, name = match.group("scope"), match.group("name")
    if _SCOPE.match(scope) is None:
        raise ArmError(400, "InvalidScope", f"The scope '{scope}' is not a valid ARM scope.")
    if re.fullmatch(_GUID, name) is None:
        message = f"The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."
        raise ArmError(400, "InvalidRoleAssignmentId", message)
    target = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    state.check_scope(scope)
    if request.method == "GET":
        return Reply(200, state.get(scope, name))
    if request.method == "DELETE":
        state.check_write(_CALLER, "Microsoft.Authorization/roleAssignments/delete", target)
        deleted = state.delete(scope, name)
        return Reply(200, deleted) if deleted else Reply(204, None)
    if request.method == "PUT":
        state.check_write(_CALLER, "Microsoft.Authorization/roleAssignments/write", target)
        record, created = state.create(scope, name, _properties(request, scope), _CALLER)
        return Reply(201 if created else 200, record)
    raise ArmError(405, "MethodNotAllowed", f"{request.method} is not supported on role assignments.")


def _authenticate(request: Request) -> None:
    value = request.header("Authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        what = "missing" if not value else "invalid"
        raise ArmError(
            401,
            "AuthenticationFailed",
            f"Authentication failed. The 'Authorization' header is {what}.",
            headers={
                "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
                'error="invalid_token", error_description="The authentication failed because of '
                f"{what} 'Authorization' header.\""
            },
        )


def _check_api_version(request: Request) -> None:
    version = request.query.get("api-version")
    if not version:
        message = "The api-version query parameter (?api-version=) is required for all requests."
        raise ArmError(400, "MissingApiVersionParameter", message)
    if version not in API_VERSIONS:
        supported = ",".join(API_VERSIONS)
        message = f"The api-version '{version}' is invalid. The supported versions are '{supported}'."
        raise ArmError(400, "InvalidApiVersionParameter", message)


def _properties(request: Request, scope: str) -> dict[str, Any]:
    body = request.json()
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content must hold 'properties'.")
    role = str(props.get("roleDefinitionId") or "")
    match = _ROLE_DEFINITION.match(role)
    if match is None:
        raise ArmError(400, "InvalidRoleDefinitionId", f"The role definition ID '{role}' is not valid.")
    sub, scope_match = match.group("subscription"), _SCOPE.match(scope)
    if sub and scope_match and sub.lower() != scope_match.group("subscription").lower():
        message = f"The role definition ID '{role}' is not in the subscription of the scope '{scope}'."
        raise ArmError(400, "InvalidRoleDefinitionId", message)
    if match.group("role").lower() not in KNOWN_ROLES:
        message = f"The specified role definition with ID '{match.group('role')}' does not exist."
        raise ArmError(400, "RoleDefinitionDoesNotExist", message)
    if re.fullmatch(_GUID, str(props.get("principalId") or "")) is None:
        message = "A valid principal ID must be provided for role assignment."
        raise ArmError(400, "InvalidPrincipalId", message)
    kind = props.get("principalType")
    if kind is not None and kind not in PRINCIPAL_TYPES:
        raise ArmError(400, "InvalidPrincipalType", f"The principal type '{kind}' is not valid.")
    return props


def _log_entry(request: Request, status: int) -> dict[str, Any]:
    try:
        body = request.json()
    except ArmError:
        body = request.body.decode(errors="replace")
    return {**request.log_entry(body), "status": status}
