"""The OpenAPI document describes exactly the routes function_app registers."""

from __future__ import annotations

import json

import function_app
from deployer.entrypoints.http import fallback, openapi
from deployer.entrypoints.http.problems import TYPES
from localdev.devhost.index import index_app

_METHODS = {"get", "post", "put", "patch", "delete"}


def registered_routes() -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for function in index_app(function_app.app, {}).http:
        if function.route.template == fallback.CATCH_ALL:
            continue  # answers what no documented route takes (404 / 405)
        assert function.methods, f"{function.name} accepts every method: name them"
        path = "/api/" + function.route.template.strip("/")
        routes.setdefault(path, set()).update(m.lower() for m in function.methods)
    return routes


def documented_routes(document) -> dict[str, set[str]]:
    return {path: set(item) & _METHODS for path, item in document["paths"].items()}


def test_every_registered_route_is_documented_and_nothing_else():
    assert documented_routes(openapi.document()) == registered_routes()


def test_the_document_is_openapi_3_1_and_every_reference_resolves():
    document = json.loads(json.dumps(openapi.document()))
    assert document["openapi"].startswith("3.1")
    for ref in _refs(document):
        node = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]


def test_operation_ids_are_unique_and_every_operation_answers_something():
    operations = [op for item in openapi.document()["paths"].values() for op in item.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    assert all(
        op["responses"] and all("description" in r for r in op["responses"].values()) for op in operations
    )


def test_every_problem_type_is_documented_on_some_route():
    text = json.dumps(openapi.document())
    assert all(f"urn:agent-deployer:problem:{slug}" in text for slug in TYPES)


def test_overriding_environment_variables_is_documented_as_limited_to_configured_ones():
    schema = openapi.document()["components"]["schemas"]["DeployRequest"]
    assert "already configured" in schema["properties"]["environment_variables"]["description"]
    assert schema["additionalProperties"] is False


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)
