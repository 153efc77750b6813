"""The OpenAPI operations of the dashboard (``deployer.entrypoints.dashboard``) and of
``GET /api/caller``, which the dashboard asks before it offers actions."""

from __future__ import annotations

from typing import Any

from deployer.entrypoints.http.openapi_parts import path_param, problems
from deployer.entrypoints.http.schema_parts import NULLABLE_STR, STR, obj


def paths() -> dict[str, Any]:
    """The dashboard's page and assets (anonymous), and the caller route."""
    return {
        "/api/ui": {"get": _page()},
        "/api/ui/{name}": {"get": _asset()},
        "/api/caller": {"get": _caller()},
    }


def _page() -> dict[str, Any]:
    return {
        "operationId": "getDashboard",
        "summary": "The dashboard page (HTML)",
        "description": (
            "Anonymous: the page holds no data. It reads this API from the browser, sending the "
            "function key it asks for once (kept in the tab's sessionStorage) as x-functions-key."
        ),
        "security": [],
        "responses": {"200": {"description": "the page", "content": {"text/html": {}}}},
    }


def _asset() -> dict[str, Any]:
    return {
        "operationId": "getDashboardAsset",
        "summary": "A script or the style sheet of the dashboard",
        "security": [],
        "parameters": [path_param("name")],
        "responses": {
            "200": {"description": "the file", "content": {"text/javascript": {}, "text/css": {}}},
            "404": {"description": "not a file of the dashboard", "content": {"text/plain": {}}},
        },
    }


def _caller() -> dict[str, Any]:
    schema = obj(
        {
            "name": {**NULLABLE_STR, "description": "the signed-in caller; null with function keys only"},
            "signed_in": {"type": "boolean"},
            "can_write": {"type": "boolean", "description": "whether the POST routes accept this caller"},
            "write_role": {**STR, "description": "the app role the POST routes require when signed in"},
        },
        required=["name", "signed_in", "can_write", "write_role"],
    )
    return {
        "operationId": "getCaller",
        "summary": "Who is calling, and whether the POST routes accept them",
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
            **problems(401),
        },
    }
