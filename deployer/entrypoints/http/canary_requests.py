"""The ``POST /api/agents/{agent}/promote`` body read once into a frozen value, or refused having
written nothing (:mod:`deployer.deploy.promotion` does the rest)."""

from __future__ import annotations

from deployer.deploy.requests import PromoteRequest
from deployer.domain.agents import AGENT_NAME
from deployer.domain.errors import Refused
from deployer.entrypoints.http.requests import JsonBody, parse_agent_name


def parse_promote(agent: str, body: JsonBody) -> PromoteRequest:
    """The promotion of ``agent`` (from the route) to the agent named by ``to`` in ``body``."""
    name = parse_agent_name(agent)
    doc = body.document
    errors = [
        {"field": str(field)[:80], "message": "unknown field (known fields: to)"}
        for field in doc
        if field != "to"
    ]
    to = doc.get("to")
    if not isinstance(to, str) or not AGENT_NAME.fullmatch(to):
        errors.append({"field": "to", "message": "required: the name of the configured agent to promote to"})
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise Refused("invalid-body", detail, errors=errors)
    assert isinstance(to, str)
    return PromoteRequest(agent=name, to=to)
