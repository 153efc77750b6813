"""How the HTTP triggers answer: JSON, ``202 Accepted`` with the deployment's ``Location``, and
every refusal as ``application/problem+json`` (:mod:`~deployer.entrypoints.http.problems` decides
which problem; this module writes it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import azure.functions as func

from deployer.deploy import manual
from deployer.domain.errors import Conflict, PlatformError, Refused, StoreUnavailable
from deployer.entrypoints.http.problems import MEDIA_TYPE, RETRY_AFTER_S, Problem, problem_for


def accepted(started: manual.Started) -> func.HttpResponse:
    """``202``, the deployment, its ``Location``, and ``Idempotent-Replayed`` for a repeated request."""
    headers = {"Location": f"/api/deployments/{started.deployment.id}"}
    if started.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(started.deployment.to_json(), 202, headers)


def guarded(
    req: func.HttpRequest, handler: Callable[[func.HttpRequest], func.HttpResponse]
) -> func.HttpResponse:
    """Run ``handler``, answering its refusals (and lost races, Foundry outages) as problems."""
    try:
        return handler(req)
    except (Refused, Conflict, PlatformError, StoreUnavailable) as exc:
        problem = problem_for(exc)
        assert problem is not None
        return problem_response(problem)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """``body`` as JSON."""
    return func.HttpResponse(
        json.dumps(body), status_code=status, mimetype="application/json", headers=headers
    )


def problem_response(problem: Problem, *, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """``problem`` as an ``application/problem+json`` response (``Retry-After`` where a retry helps)."""
    headers = {**(headers or {}), "Content-Type": MEDIA_TYPE}
    retry_after = RETRY_AFTER_S.get(problem.slug)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return func.HttpResponse(
        json.dumps(problem.to_json()), status_code=problem.status, mimetype=MEDIA_TYPE, headers=headers
    )
