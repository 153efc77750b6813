"""The component schemas of the OpenAPI document: request bodies and the documents the API
answers with (``Deployment.to_json``, ``AgentOverview.to_json``, ``Health.to_json``, problems)."""

from __future__ import annotations

from typing import Any

from deployer.domain.imageref import DIGEST
from deployer.domain.model import STRATEGIES
from deployer.domain.notifications import ENTRY_STATES
from deployer.entrypoints.http.deployment_schema import deployment
from deployer.entrypoints.http.requests import MAX_REASON
from deployer.entrypoints.http.schema_parts import NULLABLE_STR, STR, obj, ref

__all__ = ["STR", "components", "ref"]


def components() -> dict[str, Any]:
    """Every component schema by name."""
    return {
        "DeployRequest": _deploy_request(),
        "RollbackRequest": obj(
            {
                "to": {**STR, "description": "a deployment id or a version of the agent that was active"},
                "reason": {**STR, "maxLength": MAX_REASON},
            }
        ),
        "PromoteRequest": obj(
            {"to": {**STR, "description": "the configured agent to deploy the verified image to"}},
            required=["to"],
        ),
        "RejectRequest": obj(
            {"reason": {**STR, "maxLength": 500, "description": "why: recorded and notified"}},
            required=["reason"],
        ),
        "Deployment": deployment(),
        "DeploymentPage": obj(
            {"items": {"type": "array", "items": ref("Deployment")}, "next": NULLABLE_STR},
            required=["items", "next"],
        ),
        "Agent": _agent(),
        "AgentList": obj({"items": {"type": "array", "items": ref("Agent")}}, required=["items"]),
        "Notification": _notification(),
        "NotificationPage": obj(
            {"items": {"type": "array", "items": ref("Notification")}, "next": NULLABLE_STR},
            required=["items", "next"],
        ),
        "Hold": _hold(),
        "HoldList": obj(
            {
                "items": {"type": "array", "items": ref("Hold"), "description": "oldest first"},
                "paused": {"type": "boolean", "description": "pushes are skipped while paused"},
            },
            required=["items", "paused"],
        ),
        "Released": obj(
            {"released": {"type": "boolean", "description": "false: the digest was not held"}},
            required=["released"],
        ),
        "PauseState": obj(
            {
                "agent": STR,
                "paused": {"type": "boolean"},
                "paused_by": NULLABLE_STR,
                "paused_at": NULLABLE_STR,
            },
            required=["agent", "paused", "paused_by", "paused_at"],
        ),
        "Health": _health(),
        "Problem": _problem(),
    }


def _deploy_request() -> dict[str, Any]:
    return obj(
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


def _hold() -> dict[str, Any]:
    return obj(
        {
            "digest": {**STR, "pattern": f"^{DIGEST.pattern}$"},
            "reason": {**STR, "description": "rollback, or smoke_test_failed"},
            "at": STR,
            "by": NULLABLE_STR,
            "deployment_id": {**NULLABLE_STR, "description": "the deployment that put the hold"},
        },
        required=["digest", "reason", "at"],
    )


def _agent() -> dict[str, Any]:
    return obj(
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
            "rollout": {"type": "string", "enum": list(STRATEGIES)},
            "canary_steps": {
                "oneOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}],
                "description": "a canary rollout's traffic percentages, in order",
            },
            "paused": {"type": "boolean", "description": "pushes are skipped while paused"},
            "project_endpoint": NULLABLE_STR,
            "high_tag": NULLABLE_STR,
            "active": {"oneOf": [ref("Deployment"), {"type": "null"}]},
        },
        required=["name", "repository", "active"],
    )


def _notification() -> dict[str, Any]:
    subscriber = obj(
        {
            "key": {**STR, "description": "a hash naming the subscriber (not its URL)"},
            "format": {"type": "string", "enum": ["cloudevents", "slack", "teams", "eventgrid"]},
            "host": {**NULLABLE_STR, "description": "null when the subscriber is no longer configured"},
        },
        required=["key", "format", "host"],
    )
    times = ("last_attempt_at", "next_attempt_at", "delivered_at")
    return obj(
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
    check = obj(
        {
            "name": {"type": "string", "description": "table_storage, foundry, or startup"},
            "target": STR,
            "status": {"type": "string", "enum": ["ok", "unreachable", "not_found"]},
            "duration_ms": {"type": "integer"},
            "error": NULLABLE_STR,
            "hint": NULLABLE_STR,
        }
    )
    return obj(
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
            "errors": {"type": "array", "items": obj({"field": STR, "message": STR})},
        },
    }
