"""The OpenAPI schema of the deployment document (``Deployment.to_json``): the record with its
history, runtime role, rollout, pinned traffic, smoke test, canary state and image check."""

from __future__ import annotations

from typing import Any, get_args

from deployer.domain.approval import Decision
from deployer.domain.images import CheckResult
from deployer.domain.model import Rollout, Source
from deployer.domain.roles import GrantStatus
from deployer.domain.rollout_state import SmokeStatus
from deployer.entrypoints.http.requests import STATUSES
from deployer.entrypoints.http.schema_parts import (
    INTEGER,
    NULLABLE_INTEGER,
    NULLABLE_NUMBER,
    NULLABLE_STR,
    STR,
    nullable,
    obj,
)

_OPTIONAL = (
    "registry",
    "repository",
    "tag",
    "digest",
    "event_id",
    "reason",
    "version",
    "project_endpoint",
    "requested_by",
    "version_deleted_at",
    "version_delete_refused_at",
    "version_delete_next_at",
    "promoted_to",
    "promoted_from",
)


def deployment() -> dict[str, Any]:
    """The deployment document (``Deployment.to_json``); a unit test keeps the two in step."""
    error = obj({"code": STR, "message": STR, "hint": NULLABLE_STR})
    transition = obj(
        {"status": STR, "at": STR, "note": STR, "percentage": {**INTEGER, "description": "traffic_shifted"}},
        required=["status", "at"],
    )
    return obj(
        {
            "id": STR,
            "agent": STR,
            "image": STR,
            "status": {"type": "string", "enum": list(STATUSES)},
            "source": {"type": "string", "enum": list(get_args(Source))},
            **{name: NULLABLE_STR for name in _OPTIONAL},
            "error": nullable(error),
            "time_to_active_s": NULLABLE_NUMBER,
            "runtime_role": nullable(_runtime_role()),
            "rollout": {
                "type": "string",
                "enum": list(get_args(Rollout)),
                "description": "verified: traffic moves after the smoke test; instant: a rollback by traffic",
            },
            "traffic_before": nullable(
                {
                    "type": "array",
                    "items": _traffic_rule(),
                    "description": "the selector pinned before create",
                }
            ),
            "smoke": nullable(_smoke()),
            "canary": nullable(_canary()),
            "image_check": nullable(_image_check()),
            "approval": nullable(_approval()),
            "created_at": STR,
            "updated_at": STR,
            "history": {"type": "array", "items": transition},
        },
        required=["id", "agent", "image", "status", "source", "created_at", "updated_at", "history"],
    )


def _traffic_rule() -> dict[str, Any]:
    percentage = {"type": "integer", "minimum": 0, "maximum": 100}
    return obj({"version": STR, "percentage": percentage}, required=["version", "percentage"])


def _runtime_role() -> dict[str, Any]:
    return obj(
        {
            "status": {"type": "string", "enum": list(get_args(GrantStatus))},
            "principal_id": NULLABLE_STR,
            "attempts": INTEGER,
            "since": {**NULLABLE_NUMBER, "description": "epoch seconds of the first retryable failure"},
            "error": nullable(obj({"code": STR, "message": STR})),
        },
        required=["status"],
    )


def _smoke() -> dict[str, Any]:
    return obj(
        {
            "status": {"type": "string", "enum": list(get_args(SmokeStatus))},
            "attempts": INTEGER,
            "latency_ms": NULLABLE_NUMBER,
            "http_status": NULLABLE_INTEGER,
            "excerpt": {**NULLABLE_STR, "description": "the start of the last reply (500 characters)"},
            "detail": {**NULLABLE_STR, "description": "why the last attempt failed"},
            "answered_by": {**NULLABLE_STR, "description": "the version the last reply names, when it does"},
        },
        required=["status", "attempts"],
    )


def _image_check() -> dict[str, Any]:
    return obj(
        {
            "result": {"type": "string", "enum": list(get_args(CheckResult))},
            "reference": {**STR, "description": "the tag or digest looked up"},
            "at": STR,
            "digest": {**NULLABLE_STR, "description": "what the reference resolved to"},
            "media_type": NULLABLE_STR,
            "platforms": {
                "type": "array",
                "items": STR,
                "description": "a multi-arch index's platforms (os/architecture[/variant])",
            },
        },
        required=["result", "reference", "at"],
    )


def _canary() -> dict[str, Any]:
    return obj(
        {
            "stable": {**STR, "description": "the version that keeps the rest of the traffic"},
            "step": {**INTEGER, "description": "the last step applied (-1: none yet)"},
            "percentage": INTEGER,
            "next_at": {**NULLABLE_STR, "description": "when the next step is due (ISO 8601, UTC)"},
            "smoke_runs": INTEGER,
            "smoke_failures": INTEGER,
            "promote": {"type": "boolean"},
            "promoted_by": NULLABLE_STR,
        },
        required=["stable"],
    )


def _approval() -> dict[str, Any]:
    return obj(
        {
            "expires_at": {**STR, "description": "when the request ends rejected (approval_expired)"},
            "approvers": {"type": "array", "items": STR, "description": "principal names or app roles"},
            "step": {**NULLABLE_INTEGER, "description": "a canary step's approval: the step it lets through"},
            "decision": {"type": ["string", "null"], "enum": [*get_args(Decision), None]},
            "by": NULLABLE_STR,
            "at": NULLABLE_STR,
            "comment": {**NULLABLE_STR, "description": "a rejection's reason"},
        },
        required=["expires_at", "decision"],
    )
