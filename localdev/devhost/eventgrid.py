"""Event Grid triggers: ``/runtime/webhooks/eventgrid?functionName=<name>``, as the host's extension answers.

Mirrors ``HttpRequestProcessor`` and ``EventGridExtensionConfigProvider`` of
Microsoft.Azure.WebJobs.Extensions.EventGrid:

- without the ``eventgrid_extension`` system key (``code`` or ``x-functions-key``): 401 (:mod:`.keys`);
- unknown or missing ``functionName``: 404 ``cannot find function: '<name>'``;
- ``OPTIONS`` (CloudEvents abuse protection): 200 with ``WebHook-Allowed-Origin`` echoing a known
  ``eventgrid.azure.*`` origin from ``WebHook-Request-Origin``, else ``eventgrid.azure.net``;
- ``aeg-event-type: SubscriptionValidation``: 200 ``{"validationResponse": code}`` taken from
  ``[0].data.validationCode`` (array) or ``data.validationCode`` (object, ``data`` possibly a JSON
  string); the function is not called;
- ``aeg-event-type: Notification``: a JSON array (Event Grid schema or batched CloudEvents) or one JSON
  object (a single CloudEvent) is split into events and the function is called once per event with the
  object ``EventGridEventInConverter.decode`` gives (``func.CloudEvent`` when the event has
  ``specversion``, else ``func.EventGridEvent``). Every event is run even if one fails; 202 if all
  succeed, else 500 ``Exception while executing function: Functions.<name>``;
- ``aeg-event-type: Unsubscribe``: 202; no or another ``aeg-event-type``: 400.

The header values are compared case-insensitively, and the ``Content-Type`` is not consulted (as in the
host). Differences: a body that is not JSON, or not an array or object, answers 400 here where the real
host fails with 500; events run one after the other here, concurrently in the host.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.meta import Datum

from .index import AppIndex, EventGridFunction
from .invoker import Invoker
from .log import log_invocation
from .messages import IncomingRequest, Reply

__all__ = ["EVENTGRID_WEBHOOK_PATH", "MAX_EVENTGRID_BODY", "decode_event", "handle_eventgrid_webhook"]

EVENTGRID_WEBHOOK_PATH = "/runtime/webhooks/eventgrid"
MAX_EVENTGRID_BODY = 1024 * 1024
_PUBLIC_ORIGIN = "eventgrid.azure.net"
_KNOWN_ORIGINS = frozenset(
    {
        _PUBLIC_ORIGIN,
        "eventgrid.azure.us",
        "eventgrid.azure.eaglex.ic.gov",
        "eventgrid.azure.microsoft.scloud",
        "eventgrid.azure.cn",
    }
)


class _BadPayload(ValueError):
    pass


def decode_event(event: Any) -> Any:
    """One event as the Python worker decodes it: ``func.EventGridEvent`` or ``func.CloudEvent``."""
    return EventGridEventInConverter.decode(Datum(json.dumps(event), "json"), trigger_metadata=None)


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise _BadPayload(f"the body is not JSON: {error}") from error


def _validation_code(body: bytes) -> str:
    document = _parse_json(body)
    try:
        if isinstance(document, list):
            return str(document[0]["data"]["validationCode"])
        if isinstance(document, dict):
            data = document["data"]
            data = json.loads(data) if isinstance(data, str) else data
            return str(data["validationCode"])
    except (LookupError, TypeError, ValueError) as error:
        raise _BadPayload(f"no data.validationCode in the validation event: {error!r}") from error
    raise _BadPayload("the body is neither a JSON array nor a JSON object")


def _events(body: bytes) -> list[Any]:
    document = _parse_json(body)
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        return [document]
    raise _BadPayload("the body is neither a JSON array nor a JSON object")


def _allowed_origin(request: IncomingRequest) -> str:
    origin = request.header("WebHook-Request-Origin")
    return origin if origin in _KNOWN_ORIGINS else _PUBLIC_ORIGIN


def _run_one(function: EventGridFunction, invoker: Invoker, event: Any) -> bool:
    def call() -> Any:  # decoding inside the invocation: a bad event fails it, as in the worker
        return function.func(**function.arguments(decode_event(event)))

    invocation = invoker.invoke(function.name, call, {})
    log_invocation(function.name, "Succeeded" if invocation.succeeded else "Failed", invocation.duration_ms)
    return invocation.succeeded


def _notify(function: EventGridFunction, invoker: Invoker, body: bytes) -> Reply:
    results = [_run_one(function, invoker, event) for event in _events(body)]
    if all(results):
        return Reply(202)
    return Reply.text(500, f"Exception while executing function: Functions.{function.name}")


def handle_eventgrid_webhook(index: AppIndex, invoker: Invoker, request: IncomingRequest) -> Reply:
    """Answer one request to the Event Grid webhook (its key checked already)."""
    name = parse_qs(request.query).get("functionName", [""])[0]
    function = index.event_grid.get(name)
    if function is None:
        return Reply.text(404, f"cannot find function: '{name}'")
    if request.method == "OPTIONS":
        return Reply(200, (("WebHook-Allowed-Origin", _allowed_origin(request)),))
    kind = (request.header("aeg-event-type") or "").lower()
    try:
        if kind == "subscriptionvalidation":
            return Reply.text(200, json.dumps({"validationResponse": _validation_code(request.body)}))
        if kind == "notification":
            return _notify(function, invoker, request.body)
    except _BadPayload as error:
        return Reply.text(400, str(error))
    return Reply(202) if kind == "unsubscribe" else Reply(400)
