"""The OpenAPI 3.1 document of the HTTP API (``GET /api/openapi.json``).

Written by hand next to the routes; a test checks that every route registered in
``function_app.app`` appears here with its methods, and that every operation does.
"""

from __future__ import annotations

from typing import Any

from deployer.domain.imageref import DIGEST
from deployer.domain.notifications import ENTRY_STATES
from deployer.entrypoints.http import openapi_canary, openapi_dashboard
from deployer.entrypoints.http.openapi_parts import json_body as _json_body
from deployer.entrypoints.http.openapi_parts import ok as _ok
from deployer.entrypoints.http.openapi_parts import path_param as _path_param
from deployer.entrypoints.http.openapi_parts import problems as _problems
from deployer.entrypoints.http.problems import TYPE_PREFIX
from deployer.entrypoints.http.requests import DEFAULT_LIMIT, MAX_LIMIT, STATUSES
from deployer.entrypoints.http.schemas import STR as _STR
from deployer.entrypoints.http.schemas import components, ref

_DIGEST = {"type": "string", "pattern": f"^{DIGEST.pattern}$", "description": "sha256: and 64 hex digits"}


def document() -> dict[str, Any]:
    """The whole document (a fresh dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "agent-deployer",
            "version": "1",
            "description": (
                "Deploys Microsoft Foundry hosted agents. Deployments start from ACR pushes (Event Grid) "
                "or from these routes, and are tracked until active (verified, after a smoke test), "
                "failed, unhealthy or timed_out. Errors are "
                "application/problem+json (RFC 9457). Behind App Service Authentication, POST routes "
                "need a signed-in caller with the app role named by the DEPLOYER_WRITE_ROLE app "
                "setting (default Deployer.Write) and record the caller as requested_by; without it "
                "the caller is recorded as 'function key'. A path under /api that is not listed "
                f"answers 404 {TYPE_PREFIX}not-found; a listed path with another method answers "
                f"405 {TYPE_PREFIX}method-not-allowed with an Allow header."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"functionKey": []}, {"functionKeyQuery": []}],
        "paths": _paths(),
        "components": {"schemas": components(), "securitySchemes": _security(), "parameters": _parameters()},
    }


def _paths() -> dict[str, Any]:
    return {
        "/api/deployments": {"get": _list_deployments(), "post": _post_deployment()},
        "/api/deployments/{id}": {"get": _get_deployment()},
        "/api/deployments/{id}/promote": {"post": openapi_canary.canary_action(promote=True)},
        "/api/deployments/{id}/abort": {"post": openapi_canary.canary_action(promote=False)},
        "/api/deployments/{id}/approve": {"post": openapi_canary.decision(approve=True)},
        "/api/deployments/{id}/reject": {"post": openapi_canary.decision(approve=False)},
        "/api/agents": {"get": _list_agents()},
        "/api/agents/{agent}/rollback": {"post": _rollback()},
        "/api/agents/{agent}/promote": {"post": openapi_canary.promote_agent()},
        "/api/agents/{agent}/holds": {"get": _list_holds()},
        "/api/agents/{agent}/holds/{digest}/release": {"post": _release_hold()},
        "/api/agents/{agent}/pause": {"post": _pause(pause=True)},
        "/api/agents/{agent}/resume": {"post": _pause(pause=False)},
        "/api/notifications": {"get": _list_notifications()},
        "/api/notifications/{id}/redeliver": {"post": _redeliver()},
        "/api/health": {"get": _health()},
        "/api/openapi.json": {"get": _openapi()},
        **openapi_dashboard.paths(),
    }


def _post_deployment() -> dict[str, Any]:
    return {
        "operationId": "startDeployment",
        "summary": "Deploy an image to a configured agent",
        "description": (
            "Creates a version of the agent from its configured definition and the image given "
            "(source: manual). The tag policy and the version order do not apply: a manual deploy "
            "may go backwards on purpose. The image must come from an allowed registry and the "
            "agent's repository."
        ),
        "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
        "requestBody": _json_body("DeployRequest"),
        "responses": {"202": _accepted(), **_problems(400, 401, 403, 404, 409, 413, 415, 422, 503)},
    }


def _rollback() -> dict[str, Any]:
    return {
        "operationId": "rollbackAgent",
        "summary": "Go back to an agent's previous active or verified version",
        "description": (
            "Without 'to': the agent's newest superseded deployment that was active or verified, "
            "i.e. the one serving before the current one. If its version still exists and is active, "
            "the agent's traffic moves back to it at once and no version is created (rollout: instant, "
            "status active); otherwise its image, pinned by digest where known, is deployed as a new "
            "version. Either way a new deployment with source: rollback, and the digest rolled away "
            "from is held (see /api/agents/{agent}/holds)."
        ),
        "parameters": [_path_param("agent"), {"$ref": "#/components/parameters/IdempotencyKey"}],
        "requestBody": {**_json_body("RollbackRequest"), "required": False},
        "responses": {"202": _accepted(), **_problems(400, 401, 403, 404, 409, 413, 415, 503)},
    }


def _list_holds() -> dict[str, Any]:
    return {
        "operationId": "listHolds",
        "summary": "An agent's held digests and whether it is paused",
        "description": (
            "A rollback (by a person, or after a failed smoke test) holds the digest it moved away from: "
            "pushes of it are recorded skipped with reason held until the hold is released. While the "
            "agent is paused, pushes are skipped with reason paused. Requests through this API still deploy."
        ),
        "parameters": [_path_param("agent")],
        "responses": {"200": _ok("HoldList"), **_problems(400, 404)},
    }


def _release_hold() -> dict[str, Any]:
    digest = {"name": "digest", "in": "path", "required": True, "schema": _DIGEST}
    return {
        "operationId": "releaseHold",
        "summary": "Release a held digest, so pushes of it deploy again",
        "description": "released is false when the digest was not held (nothing changed).",
        "parameters": [_path_param("agent"), digest],
        "responses": {"200": _ok("Released"), **_problems(400, 401, 403, 404, 409)},
    }


def _pause(*, pause: bool) -> dict[str, Any]:
    if pause:
        summary = "Pause an agent: pushes are recorded skipped (reason paused) until it is resumed"
    else:
        summary = "Resume a paused agent: pushes deploy again (those skipped meanwhile are not replayed)"
    return {
        "operationId": "pauseAgent" if pause else "resumeAgent",
        "summary": summary,
        "description": "Idempotent: pausing a paused agent or resuming a running one changes nothing.",
        "parameters": [_path_param("agent")],
        "responses": {"200": _ok("PauseState"), **_problems(400, 401, 403, 404, 409)},
    }


def _list_deployments() -> dict[str, Any]:
    query = [
        _query("agent", _STR, "only this agent's deployments (404 unknown-agent if none is configured)"),
        _query("status", {"type": "string", "enum": list(STATUSES)}, "only deployments in this status"),
        *_paging(),
    ]
    return {
        "operationId": "listDeployments",
        "summary": "Deployments, newest first, paged",
        "parameters": query,
        "responses": {"200": _ok("DeploymentPage"), **_problems(400, 404)},
    }


def _list_notifications() -> dict[str, Any]:
    states = {"type": "string", "enum": sorted(ENTRY_STATES)}
    return {
        "operationId": "listNotifications",
        "summary": "Notification outbox entries, newest deployments first, paged",
        "description": (
            "One entry per event and subscriber. The subscriber is shown by key, format and host "
            "only: no URL, secret or payload."
        ),
        "parameters": [_query("state", states, "only entries in this state"), *_paging()],
        "responses": {"200": _ok("NotificationPage"), **_problems(400)},
    }


def _redeliver() -> dict[str, Any]:
    return {
        "operationId": "redeliverNotification",
        "summary": "Send a dead notification again",
        "description": (
            "The entry becomes pending with a fresh retry schedule and the same event id "
            "(webhook-id), and the sender tries it within seconds. Only dead entries can be "
            "redelivered (409 otherwise); one whose subscriber is no longer configured is 422."
        ),
        "parameters": [_path_param("id")],
        "responses": {
            "202": _ok("Notification", "Queued again; the entry as it is now (pending)"),
            **_problems(400, 401, 403, 404, 409, 422),
        },
    }


def _get_deployment() -> dict[str, Any]:
    return {
        "operationId": "getDeployment",
        "summary": "One deployment with its history",
        "parameters": [_path_param("id")],
        "responses": {"200": _ok("Deployment"), **_problems(400, 404)},
    }


def _list_agents() -> dict[str, Any]:
    return {
        "operationId": "listAgents",
        "summary": "The configured agents and their active deployments",
        "responses": {"200": _ok("AgentList")},
    }


def _health() -> dict[str, Any]:
    return {
        "operationId": "getHealth",
        "summary": "Whether Table Storage and every Foundry project endpoint answer",
        "responses": {
            "200": _ok("Health", "every dependency answered"),
            "503": _ok("Health", "a dependency did not answer"),
        },
    }


def _openapi() -> dict[str, Any]:
    return {
        "operationId": "getOpenApi",
        "summary": "This document",
        "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
    }


def _accepted() -> dict[str, Any]:
    return {
        "description": "Started; for a repeated Idempotency-Key, the deployment the first request started",
        "headers": {
            "Location": {"schema": _STR, "description": "/api/deployments/{id}"},
            "Idempotent-Replayed": {"schema": _STR, "description": "'true' when the answer is a replay"},
        },
        "content": {"application/json": {"schema": ref("Deployment")}},
    }


def _paging() -> list[dict[str, Any]]:
    limit = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}
    next_ = _query("next", _STR, "the 'next' token of the previous page")
    return [_query("limit", limit, "page size"), next_]


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _parameters() -> dict[str, Any]:
    return {
        "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": (
                "The same key and body answer as the first request did (same deployment); the same "
                "key with another body is 409."
            ),
        }
    }


def _security() -> dict[str, Any]:
    return {
        "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
        "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
    }
