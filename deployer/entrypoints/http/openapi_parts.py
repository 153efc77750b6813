"""Building blocks of the OpenAPI operations (``openapi.py``, ``openapi_canary.py``)."""

from __future__ import annotations

from typing import Any

from deployer.entrypoints.http.problems import TYPE_PREFIX, TYPES
from deployer.entrypoints.http.requests import MAX_BODY_BYTES
from deployer.entrypoints.http.schema_parts import STR, ref


def problems(*statuses: int) -> dict[str, Any]:
    """Problem answers for ``statuses``, each listing the problem types it may carry."""
    answers: dict[str, Any] = {}
    for status in statuses:
        slugs = sorted(slug for slug, (code, _) in TYPES.items() if code == status)
        answers[str(status)] = {
            "description": "problem types: " + ", ".join(TYPE_PREFIX + slug for slug in slugs),
            "content": {"application/problem+json": {"schema": ref("Problem")}},
        }
    return answers


def ok(schema: str, description: str = "OK") -> dict[str, Any]:
    """A JSON answer of the component schema ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def json_body(schema: str) -> dict[str, Any]:
    """A required JSON request body of the component schema ``schema``."""
    return {
        "required": True,
        "description": f"JSON, at most {MAX_BODY_BYTES} bytes",
        "content": {"application/json": {"schema": ref(schema)}},
    }


def path_param(name: str) -> dict[str, Any]:
    """A required string path parameter."""
    return {"name": name, "in": "path", "required": True, "schema": STR}
