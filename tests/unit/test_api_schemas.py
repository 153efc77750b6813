"""The OpenAPI component schemas describe exactly what the API answers with: a document with
every field set (built from the dataclasses' type hints, so a new field is set too) must have
the schema's properties, no more and no fewer, with the schema's types, at every level."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, get_args, get_origin

import pytest

from deployer.config.parser import parse_config
from deployer.deploy.agent_controls import HoldList, PauseState
from deployer.deploy.manual import AgentOverview
from deployer.domain.agents import CanarySettings
from deployer.domain.model import AgentState, Deployment
from deployer.domain.rollout_state import CanaryState, Hold
from deployer.entrypoints.http import openapi
from tests.unit import conftest

_JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list}


def populated(kind: Any) -> Any:
    """A value of ``kind`` with every optional part set (a dataclass: each field populated)."""
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: populated(hints[f.name]) for f in dataclasses.fields(kind) if f.init})
    origin, args = get_origin(kind), get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return populated(next(a for a in args if a is not type(None)))
    if origin is Literal:
        return args[0]
    if origin is tuple:
        return (populated(args[0]),)
    if origin in (dict, typing.Mapping) or kind is dict:
        return {"NAME": "value"}
    return {str: "x", int: 1, float: 1.5, bool: True}[kind]


def check(schema: dict[str, Any], value: Any, where: str, schemas: dict[str, Any]) -> None:
    """``value`` fits ``schema``; objects have exactly the schema's properties."""
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    if "oneOf" in schema:
        options = [s for s in schema["oneOf"] if s.get("type") != "null"]
        assert value is not None, f"{where}: populated, but null"
        schema = options[0]
    kinds = schema.get("type")
    if value is None and kinds is not None and "null" in kinds:
        return
    if kinds is not None:
        allowed = [k for k in ([kinds] if isinstance(kinds, str) else kinds) if k != "null"]
        python = tuple(t for k in allowed if k != "object" for t in _flat(_JSON_TYPES[k]))
        fits = isinstance(value, dict) if "object" in allowed else isinstance(value, python)
        assert fits and not (isinstance(value, bool) and bool not in python), (
            f"{where}: {value!r} is not {kinds}"
        )
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "properties" in schema:
        assert set(value) == set(schema["properties"]), f"{where}: document {sorted(value)} vs schema"
        for name, item in value.items():
            check(schema["properties"][name], item, f"{where}.{name}", schemas)
    if "items" in schema:
        for index, item in enumerate(value):
            check(schema["items"], item, f"{where}[{index}]", schemas)


def _flat(kind: Any) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


@pytest.fixture
def schemas() -> dict[str, Any]:
    return openapi.document()["components"]["schemas"]


def test_a_fully_populated_deployment_has_exactly_the_schemas_properties(schemas):
    deployment = populated(Deployment)
    unset = [f.name for f in dataclasses.fields(Deployment) if getattr(deployment, f.name) is None]
    assert unset == []
    document = deployment.to_json()
    assert set(document) == set(schemas["Deployment"]["properties"])
    check(schemas["Deployment"], document, "Deployment", schemas)


def test_the_agent_document_matches_its_schema(schemas):
    config = parse_config(conftest.CONFIG, {})
    overview = AgentOverview(
        config=dataclasses.replace(config.agents[0], canary=CanarySettings()),
        state=populated(AgentState),
        endpoint="https://example.services.ai.azure.com/api/projects/p",
        active=populated(Deployment),
    )
    check(schemas["Agent"], overview.to_json(), "Agent", schemas)


def test_holds_and_pause_documents_match_their_schemas(schemas):
    hold = Hold(digest="sha256:" + "a" * 64, reason="rollback", at="t", by="ana", deployment_id="1")
    check(schemas["HoldList"], HoldList(holds=(hold,), paused=True).to_json(), "HoldList", schemas)
    check(schemas["PauseState"], PauseState(state=populated(AgentState)).to_json(), "PauseState", schemas)


def test_the_check_notices_a_field_the_schema_lacks(schemas):
    document = {**populated(Deployment).to_json(), "surprise": 1}
    with pytest.raises(AssertionError, match="surprise"):
        check(schemas["Deployment"], document, "Deployment", schemas)


def test_the_canarys_next_step_is_an_iso_time_like_every_time_in_the_document():
    waiting = dataclasses.replace(
        populated(Deployment), canary=CanaryState(stable="1", next_at=1_795_000_000.0)
    )
    assert waiting.to_json()["canary"]["next_at"] == "2026-11-18T11:06:40.000Z"
    before_the_first_step = dataclasses.replace(waiting, canary=CanaryState(stable="1"))
    assert before_the_first_step.to_json()["canary"]["next_at"] is None
    assert CanaryState.from_json(waiting.canary.to_json()) == waiting.canary  # stored as it was
