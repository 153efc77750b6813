"""The OpenAPI operations of canary control, approvals and promotion (``/api/deployments/{id}/promote``,
``/abort``, ``/approve``, ``/reject``, ``/api/agents/{agent}/promote``)."""

from __future__ import annotations

from typing import Any

from deployer.entrypoints.http.openapi_parts import json_body as _json_body
from deployer.entrypoints.http.openapi_parts import ok as _ok
from deployer.entrypoints.http.openapi_parts import path_param as _path_param
from deployer.entrypoints.http.openapi_parts import problems as _problems
from deployer.entrypoints.http.schema_parts import STR as _STR


def canary_action(*, promote: bool) -> dict[str, Any]:
    """``POST /api/deployments/{id}/promote`` (``promote``) or ``.../abort``."""
    if promote:
        summary = "Promote a canary now: all traffic to its version, then verified"
        description = "The remaining steps are skipped; promoted_by records the caller."
    else:
        summary = "Abort a canary: all traffic back to the stable version at once, rolled_back"
        description = "The traffic moves in one update and the canary's digest is held."
    return {
        "operationId": "promoteCanary" if promote else "abortCanary",
        "summary": summary,
        "description": description + " Repeating the request changes nothing more; 409 when the "
        "deployment is not (or no longer) in a canary.",
        "parameters": [_path_param("id")],
        "responses": {
            "200": _ok("Deployment", "The deployment as it is now"),
            **_problems(400, 401, 403, 404, 409),
        },
    }


def decision(*, approve: bool) -> dict[str, Any]:
    """``POST /api/deployments/{id}/approve`` (``approve``) or ``.../reject``."""
    if approve:
        summary = "Approve a deployment awaiting approval, or the canary step it waits at"
        description = "The deployment starts (its version is created), or its canary takes the step."
    else:
        summary = "Reject a deployment awaiting approval: it ends rejected (approval_rejected)"
        description = "A canary step's rejection rolls the canary back. The reason is recorded."
    operation: dict[str, Any] = {
        "operationId": "approveDeployment" if approve else "rejectDeployment",
        "summary": summary,
        "description": description + " The caller and the time are recorded in the approval and "
        "the history. Behind App Service Authentication only a listed approver (principal name or "
        "app role; none listed: the write role) may decide (403 otherwise). Asking for the decision "
        "already made answers the deployment; 409 when it does not wait for an approval (decided, "
        "superseded or expired), or (approve) when its agent was paused, or its digest held, since "
        "the push: it keeps waiting (paused-or-held).",
        "parameters": [_path_param("id")],
        "responses": {
            "200": _ok("Deployment", "The deployment as it is now"),
            **_problems(400, 401, 403, 404, 409, *(() if approve else (413, 415))),
        },
    }
    if not approve:
        operation["requestBody"] = _json_body("RejectRequest")
    return operation


def promote_agent() -> dict[str, Any]:
    """``POST /api/agents/{agent}/promote``."""
    return {
        "operationId": "promoteAgent",
        "summary": "Deploy an agent's verified image to another agent",
        "description": (
            "The image of the agent's serving deployment, which must be verified (its canary, if any, "
            "finished), is deployed by digest to the agent named by 'to', by that agent's own rules, "
            "smoke test and rollout (source: promotion). The two deployments are linked "
            "(promoted_to / promoted_from). Asking again answers the same target deployment."
        ),
        "parameters": [_path_param("agent")],
        "requestBody": _json_body("PromoteRequest"),
        "responses": {
            "202": {
                **_ok("Deployment", "Started (or started before); the target agent's deployment"),
                "headers": {"Location": {"schema": _STR, "description": "/api/deployments/{id}"}},
            },
            **_problems(400, 401, 403, 404, 409, 413, 415, 503),
        },
    }
