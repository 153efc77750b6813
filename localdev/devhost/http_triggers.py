"""HTTP triggers: ``/api/<route>`` to the user's function and its ``func.HttpResponse`` back.

The request object and the response encoding go through azure.functions' own converters
(``HttpRequestConverter.decode``, ``HttpResponseConverter.encode``), so the function sees what the
Python worker would give it and its response gets the same default ``Content-Type``. As with the real
host: a request without the key its route's auth level needs answers 401 (:mod:`.keys`); a route that
exists but not for the request's method answers 404; a function that raises, or returns something
other than ``func.HttpResponse`` or ``str`` (``None`` included), answers 500 with an empty body (the
traceback goes to stderr).
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from azure.functions.http import HttpRequestConverter, HttpResponseConverter
from azure.functions.meta import Datum

from .index import AppIndex, HttpFunction
from .invoker import Invoker
from .keys import HostKeys
from .log import log, log_invocation
from .messages import IncomingRequest, Reply

__all__ = [
    "ROUTE_PREFIX",
    "build_http_request",
    "encode_response",
    "find_http_function",
    "handle_http_trigger",
]

ROUTE_PREFIX = "api"


def find_http_function(index: AppIndex, method: str, path: str) -> tuple[HttpFunction, dict[str, str]] | None:
    """The most specific function whose route matches ``path`` and accepts ``method``."""
    for function in index.http:
        if function.methods is not None and method.upper() not in function.methods:
            continue
        params = function.route.match(path)
        if params is not None:
            return function, params
    return None


def build_http_request(request: IncomingRequest, route_params: dict[str, str]) -> Any:
    """The ``func.HttpRequest`` the worker would build for ``request``."""
    datum = Datum(
        type="http",
        value={
            "method": Datum(request.method, "string"),
            "url": Datum(request.url, "string"),
            "headers": {k: Datum(v, "string") for k, v in request.merged_headers().items()},
            "query": {k: Datum(v, "string") for k, v in request.query_params().items()},
            "params": {k: Datum(v, "string") for k, v in route_params.items()},
            "body": Datum(request.body, "bytes"),
        },
    )
    return HttpRequestConverter.decode(datum, trigger_metadata=None)


def _cookie_headers(cookies: list[SimpleCookie] | None) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for cookie in cookies or []:
        headers.extend(("Set-Cookie", morsel.OutputString()) for morsel in cookie.values())
    return headers


def encode_response(value: Any) -> Reply:
    """Turn a function's return value into a reply; raises ``TypeError`` for unsupported types."""
    try:
        datum = HttpResponseConverter.encode(value, expected_type=None)
    except NotImplementedError:
        raise TypeError(
            f"an HTTP function returned {type(value).__name__}, not HttpResponse or str"
        ) from None
    if datum.type == "string":
        return Reply.text(200, str(datum.value))
    parts = datum.value
    headers = [(name, str(item.value)) for name, item in parts["headers"].items()]
    headers += _cookie_headers(parts.get("cookies"))
    return Reply(int(parts["status_code"].value), tuple(headers), bytes(parts["body"].value or b""))


def handle_http_trigger(
    index: AppIndex, invoker: Invoker, request: IncomingRequest, path: str, keys: HostKeys
) -> Reply:
    """Serve ``request`` whose path below the ``api`` prefix is ``path``."""
    found = find_http_function(index, request.method, path)
    if found is None:
        return Reply(404)
    function, route_params = found
    if not keys.allows_route(function.auth_level, request):
        return Reply(401)
    http_request = build_http_request(request, route_params)
    invocation = invoker.invoke(function.name, function.func, function.arguments(http_request))
    reply, outcome = Reply(500), "Failed"
    if invocation.succeeded:
        try:
            reply, outcome = encode_response(invocation.value), "Succeeded"
        except TypeError as error:
            log(f"Executed 'Functions.{function.name}' failed: {error}")
    log_invocation(function.name, f"{outcome}, Status={reply.status}", invocation.duration_ms)
    return reply
