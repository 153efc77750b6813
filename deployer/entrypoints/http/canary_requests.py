"""Canary control and promotion as the API asks for them: the ``POST /api/agents/{agent}/promote``
body read once into a frozen value (or refused, having written nothing), and the services of
:mod:`deployer.canary_control` and :mod:`deployer.promotion` with their refusals as problems."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from deployer.context import Context
from deployer.deploy import canary_control, promotion
from deployer.domain.agents import AGENT_NAME
from deployer.domain.model import Deployment
from deployer.entrypoints.http.problems import ProblemError
from deployer.entrypoints.http.requests import JsonBody, parse_agent_name

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class PromoteRequest:
    """``POST /api/agents/{agent}/promote``: deploy ``agent``'s verified image to ``to``."""

    agent: str
    to: str


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
        raise ProblemError("invalid-body", detail, errors=errors)
    assert isinstance(to, str)
    return PromoteRequest(agent=name, to=to)


def promote_canary(ctx: Context, deployment_id: str, *, by: str | None) -> Deployment:
    """Skip the rest of the deployment's canary: 404 for no such deployment, 409 if it is not in
    a canary."""
    return _as_problems(lambda: canary_control.promote(ctx, deployment_id, by=by), deployment_id)


def abort_canary(ctx: Context, deployment_id: str, *, by: str | None) -> Deployment:
    """Roll the deployment's canary back to the stable version; refusals as :func:`promote_canary`."""
    return _as_problems(lambda: canary_control.abort(ctx, deployment_id, by=by), deployment_id)


def promote_agent(ctx: Context, request: PromoteRequest, *, requested_by: str | None) -> Deployment:
    """Deploy the agent's serving, verified image to ``request.to``: the target's deployment.
    404 for an unknown agent, 409 when there is nothing verified to promote."""
    try:
        return promotion.promote_to_agent(ctx, request.agent, request.to, requested_by=requested_by)
    except promotion.NotPromotable as exc:
        raise ProblemError("not-promotable", str(exc)) from None
    except LookupError as exc:
        configured = ", ".join(a.name for a in ctx.config.agents)
        raise ProblemError("unknown-agent", f"{exc} (configured: {configured})") from None


def _as_problems(call: Callable[[], T], deployment_id: str) -> T:
    try:
        return call()
    except canary_control.NotInCanary as exc:
        raise ProblemError("not-in-canary", str(exc)) from None
    except LookupError:
        raise ProblemError(
            "not-found", f"no deployment {deployment_id}; list them at /api/deployments"
        ) from None
