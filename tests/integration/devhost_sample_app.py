"""A tiny function app for the dev host's integration tests (served in-process and as a subprocess).

What the functions saw is kept in memory and served at ``GET /api/recorded`` so that a test can check
it through HTTP whichever way the app runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from typing import Any

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

SCHEDULE_SETTING = "DEVHOST_SAMPLE_SCHEDULE"
_lock = threading.Lock()
_recorded: dict[str, list[Any]] = {"events": [], "ticks": []}


def _record(kind: str, entry: Any) -> None:
    with _lock:
        _recorded[kind].append(entry)


def _json(document: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(document), status_code=status, mimetype="application/json")


@app.route(route="items/{id}", methods=["GET", "PUT"])
def items(req: func.HttpRequest) -> func.HttpResponse:
    """Echoes what the request carried."""
    return _json(
        {
            "id": req.route_params.get("id"),
            "method": req.method,
            "params": dict(req.params),
            "body": req.get_body().decode("utf-8"),
            "url": req.url,
            "header": req.headers.get("x-sample"),
        }
    )


@app.route(route="greet/{name?}", methods=["GET"])
def greet(req: func.HttpRequest) -> str:
    """An optional route parameter; returns a plain string."""
    return f"hello {req.route_params.get('name', 'nobody')}"


@app.route(route="files/{*path}", methods=["GET"])
def files(req: func.HttpRequest) -> func.HttpResponse:
    """A catch-all route parameter."""
    return _json({"path": req.route_params.get("path")})


@app.route(route="async-echo", methods=["POST"])
async def async_echo(req: func.HttpRequest) -> func.HttpResponse:
    """An ``async def`` function with its own status, header and mimetype."""
    await asyncio.sleep(0)
    return func.HttpResponse(req.get_body(), status_code=201, headers={"X-Echo": "yes"}, mimetype="text/csv")


@app.route(route="boom")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    """Always raises; the message must not reach the client."""
    raise RuntimeError("secret internal detail")


@app.route(route="open", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def open_route(req: func.HttpRequest) -> str:
    """Anonymous: served without a key."""
    return "open"


@app.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> str:
    """Admin level: needs the master key."""
    return "admin"


@app.route(route="settings/{name}", methods=["GET"])
def setting(req: func.HttpRequest) -> func.HttpResponse:
    """The value of an environment variable, to check how settings were loaded."""
    return _json({"value": os.environ.get(req.route_params["name"])})


@app.route(route="recorded", methods=["GET"])
def recorded(req: func.HttpRequest) -> func.HttpResponse:
    """What the Event Grid and timer functions have seen so far."""
    with _lock:
        return _json({kind: list(entries) for kind, entries in _recorded.items()})


@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent | func.CloudEvent) -> None:
    """Records each event; raises for one whose data says ``{"fail": true}``."""
    entry = {
        "class": type(event).__name__,
        "id": event.id,
        "subject": event.subject,
        "data": event.get_json(),
    }
    entry["type"] = event.type if isinstance(event, func.CloudEvent) else event.event_type
    _record("events", entry)
    if isinstance(entry["data"], dict) and entry["data"].get("fail"):
        raise ValueError(f"event {event.id} is marked to fail")


@app.timer_trigger(arg_name="timer", schedule=f"%{SCHEDULE_SETTING}%", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    """Counts its invocations."""
    _record("ticks", {"class": type(timer).__name__, "past_due": timer.past_due})
