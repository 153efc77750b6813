"""What answers a request under ``/api`` that no route takes: a problem document, ``404
not-found`` for an unknown path, ``405 method-not-allowed`` with ``Allow`` for a known path and
another method, instead of the host's empty 404.

One catch-all route (``{*path}``, every method). The Functions host (ASP.NET Core routing) and
the local dev host try it last: a literal or parameterised route that matches path and method
always wins. The paths and methods it knows are those of the OpenAPI document, which a test
keeps equal to the registered routes.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import urlsplit

import azure.functions as func

from deployer.entrypoints.http import openapi
from deployer.entrypoints.http.answers import problem_response
from deployer.entrypoints.http.problems import Problem

CATCH_ALL = "{*path}"
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it untyped


@blueprint.route(route=CATCH_ALL, methods=_METHODS)
def no_such_route(req: func.HttpRequest) -> func.HttpResponse:
    """404 for an unknown path, 405 with ``Allow`` for a known one and another method."""
    path = urlsplit(req.url).path
    allowed = allowed_methods(path)
    if not allowed:
        detail = "no such route: the routes are listed at /api/openapi.json"
        return problem_response(Problem(slug="not-found", detail=detail))
    allow = ", ".join(allowed)
    detail = f"{req.method.upper()} is not allowed here: send {allow}"
    return problem_response(Problem(slug="method-not-allowed", detail=detail), headers={"Allow": allow})


def allowed_methods(path: str) -> list[str]:
    """The methods the documented routes accept at ``path`` (``/api/...``); empty if none."""
    found = {method for pattern, methods in _routes() if pattern.fullmatch(path) for method in methods}
    return sorted(found)


@cache
def _routes() -> tuple[tuple[re.Pattern[str], frozenset[str]], ...]:
    routes = []
    for template, item in openapi.document()["paths"].items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        routes.append((re.compile(pattern), frozenset(method.upper() for method in item)))
    return tuple(routes)
