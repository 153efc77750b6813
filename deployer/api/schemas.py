"""The component schemas of the OpenAPI document: request bodies and the documents the API
answers with (``Deployment.to_json``, ``AgentOverview.to_json``, ``Health.to_json``, problems)."""

from __future__ import annotations

from typing import Any

from deployer.api.requests import MAX_REASON, STATUSES
from deployer.notify.entries import ENTRY_STATES

STR = {"type": "string"}
NULLABLE_STR = {"type": ["string", "null"]}
_DEPLOYMENT_OPTIONAL = (
    "registry",
    "repository",
    "tag",
    "digest",
    "event_id",
    "reason",
    "version",
    "project_endpoint",
    "requested_by",
)


def ref(name: str) -> dict[str, str]:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def components() -> dict[str, Any]:
    """Every component schema by name."""
    return {
        "DeployRequest": _deploy_request(),
        "RollbackRequest": _object(
            {
                "to": {**STR, "description": "a deployment id or a version of the agent that was active"},
                "reason": {**STR, "maxLength": MAX_REASON},
            }
        ),
        "Deployment": _deployment(),
        "DeploymentPage": _object(
            {"items": {"type": "array", "items": ref("Deployment")}, "next": NULLABLE_STR},
            required=["items", "next"],
        ),
        "Agent": _agent(),
        "AgentList": _object({"items": {"type": "array", "items": ref("Agent")}}, required=["items"]),
        "Notification": _notification(),
        "NotificationPage": _object(
            {"items": {"type": "array", "items": ref("Notification")}, "next": NULLABLE_STR},
            required=["items", "next"],
        ),
        "Health": _health(),
        "Problem": _problem(),
    }


def _deploy_request() -> dict[str, Any]:
    return _object(
        {
            "agent": {**STR, "description": "a configured agent"},
            "image": {**STR, "description": "registry/repository:tag or registry/repository@sha256:..."},
            "environment_variables": {
                "type": "object",
                "additionalProperties": STR,
                "description": (
                    "Overrides for this deployment. Only variables already configured for the agent "
                    "(environment_variables in deployer.yaml) may be overridden; others are refused "
                    "with 422."
                ),
            },
            "reason": {**STR, "maxLength": MAX_REASON, "description": "why (recorded on the deployment)"},
        },
        required=["agent", "image"],
    )


def _deployment() -> dict[str, Any]:
    error = _object({"code": STR, "message": STR, "hint": NULLABLE_STR})
    transition = _object({"status": STR, "at": STR, "note": STR}, required=["status", "at"])
    return _object(
        {
            "id": STR,
            "agent": STR,
            "image": STR,
            "status": {"type": "string", "enum": list(STATUSES)},
            "source": {"type": "string", "enum": ["event", "manual", "rollback"]},
            **{name: NULLABLE_STR for name in _DEPLOYMENT_OPTIONAL},
            "error": {"oneOf": [error, {"type": "null"}]},
            "time_to_active_s": {"type": ["number", "null"]},
            "created_at": STR,
            "updated_at": STR,
            "history": {"type": "array", "items": transition},
        },
        required=["id", "agent", "image", "status", "source", "created_at", "updated_at", "history"],
    )


def _agent() -> dict[str, Any]:
    return _object(
        {
            "name": STR,
            "registry": NULLABLE_STR,
            "repository": STR,
            "tags": STR,
            "allow_latest": {"type": "boolean"},
            "pin": {"type": "string", "enum": ["tag", "digest"]},
            "cpu": STR,
            "memory": STR,
            "protocols": {"type": "object", "additionalProperties": STR},
            "environment_variables": {"type": "array", "items": STR, "description": "names only"},
            "keep_versions": {"type": "integer"},
            "timeout_s": {"type": "number"},
            "project_endpoint": NULLABLE_STR,
            "high_tag": NULLABLE_STR,
            "active": {"oneOf": [ref("Deployment"), {"type": "null"}]},
        },
        required=["name", "repository", "active"],
    )


def _notification() -> dict[str, Any]:
    subscriber = _object(
        {
            "key": {**STR, "description": "a hash naming the subscriber (not its URL)"},
            "format": {"type": "string", "enum": ["cloudevents", "slack", "teams", "eventgrid"]},
            "host": {**NULLABLE_STR, "description": "null when the subscriber is no longer configured"},
        },
        required=["key", "format", "host"],
    )
    times = ("last_attempt_at", "next_attempt_at", "delivered_at")
    return _object(
        {
            "id": {**STR, "description": "<deployment id>.<status>.<subscriber key>"},
            "deployment_id": STR,
            "agent": STR,
            "type": {**STR, "description": "deployment. + the status entered"},
            "event_id": {**STR, "description": "the CloudEvent id and webhook-id"},
            "subscriber": subscriber,
            "state": {"type": "string", "enum": sorted(ENTRY_STATES)},
            "attempts": {"type": "integer"},
            "last_result": {**NULLABLE_STR, "description": "an HTTP status or an error kind"},
            **{name: NULLABLE_STR for name in times},
            "created_at": STR,
        },
        required=["id", "deployment_id", "agent", "type", "event_id", "subscriber", "state", "attempts"],
    )


def _health() -> dict[str, Any]:
    check = _object(
        {
            "name": {"type": "string", "description": "table_storage, foundry, or startup"},
            "target": STR,
            "status": {"type": "string", "enum": ["ok", "unreachable"]},
            "duration_ms": {"type": "integer"},
            "error": NULLABLE_STR,
        }
    )
    return _object(
        {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "checks": {"type": "array", "items": check},
        },
        required=["status", "checks"],
    )


def _problem() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "RFC 9457; extension members depend on the type",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {**STR, "format": "uri"},
            "title": STR,
            "status": {"type": "integer"},
            "detail": STR,
            "errors": {"type": "array", "items": _object({"field": STR, "message": STR})},
        },
    }


def _object(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema
