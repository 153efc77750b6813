"""The Foundry project data-plane API under ``/api/projects/{project}``.

Implements what ``azure-ai-projects`` 2.10 ``project.agents.*`` sends (create/get/list/update/
delete agents, create/get/list/delete versions) plus the agent endpoint protocols the SDK's
OpenAI client and the guide call. Every request is logged, may hit an injected fault, and then
needs ``Authorization: Bearer <token>`` (401) and an ``api-version`` query parameter (400), then a
known project (404) and, for Invocations, the preview header (403; ``platform``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from localdev.foundry_emulator import replies, resources
from localdev.foundry_emulator.errors import ApiError, bad_request, not_found, status_code_name
from localdev.foundry_emulator.settings import Fault, ImageReply
from localdev.foundry_emulator.state import EmulatorState
from localdev.foundry_emulator.wire import Reply, Request, error_reply, ok

PROJECT_PATH = re.compile(r"^/api/projects/(?P<project>[^/]+)(?P<rest>/.*)?$")
_BEARER = re.compile(r"^Bearer\s+\S+", re.IGNORECASE)
_NAME = r"(?P<name>[^/]+)"


@dataclass(frozen=True)
class Call:
    """A routed project request: the project, the path parameters and the request."""

    project: str
    params: dict[str, str]
    request: Request


Handler = Callable[[EmulatorState, Call], Reply]


def handle(state: EmulatorState, request: Request) -> Reply:
    """Serve one request under ``/api/projects/``."""
    state.record_request(log_entry(request))
    fault = state.take_fault(request.method, request.path)
    if fault is not None:
        time.sleep(fault.delay_s)
        if fault.status is not None:
            return _fault_reply(fault)
    try:
        _check_auth(request)
        return _dispatch(state, request)
    except ApiError as error:
        return error_reply(error)


def log_entry(request: Request) -> dict[str, Any]:
    """Return the request-log entry: the bearer token is replaced by ``Bearer ***``."""
    try:
        body = request.json()
    except ApiError:
        body = None
    return request.log_entry(body)


def _fault_reply(fault: Fault) -> Reply:
    status = fault.status or 500
    error = ApiError(status, status_code_name(status), f"Injected fault answering with {status}.")
    if fault.retry_after_s is not None:
        seconds = fault.retry_after_s
        error.headers["Retry-After"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
    return error_reply(error)


def _check_auth(request: Request) -> None:
    if not _BEARER.match(request.header("Authorization") or ""):
        raise ApiError(
            401,
            "Unauthorized",
            "Access denied due to a missing or invalid bearer token. Send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not request.query.get("api-version"):
        raise bad_request(
            "The api-version query parameter (?api-version=) is required for all requests.",
            code="MissingApiVersionParameter",
            param="api-version",
        )


def _dispatch(state: EmulatorState, request: Request) -> Reply:
    match = PROJECT_PATH.match(request.path)
    if match is None:
        raise not_found(f"No route for {request.path}.")
    rest = match.group("rest") or "/"
    project = unquote(match.group("project"))
    state.check_request(project, request, preview=_INVOCATIONS.fullmatch(rest) is not None)
    allowed = False
    for method, pattern, handler in _ROUTES:
        route = pattern.fullmatch(rest)
        if route is None:
            continue
        allowed = True
        if method == request.method:
            params = {key: unquote(value) for key, value in route.groupdict().items()}
            return handler(state, Call(project, params, request))
    if allowed:
        raise ApiError(405, "MethodNotAllowed", f"{request.method} is not supported on {request.path}.")
    raise not_found(f"No route for {request.path}.")


def _create_agent(state: EmulatorState, call: Call) -> Reply:
    return ok(state.create_agent(call.project, call.request.json()))


def _list_agents(state: EmulatorState, call: Call) -> Reply:
    return ok(state.list_agents(call.project, call.request.query))


def _get_agent(state: EmulatorState, call: Call) -> Reply:
    return ok(state.get_agent(call.project, call.params["name"]))


def _update_agent(state: EmulatorState, call: Call) -> Reply:
    return ok(state.update_agent(call.project, call.params["name"], call.request.json()))


def _delete_agent(state: EmulatorState, call: Call) -> Reply:
    return ok(state.delete_agent(call.project, call.params["name"]))


def _create_version(state: EmulatorState, call: Call) -> Reply:
    return ok(state.create_version(call.project, call.params["name"], call.request.json()))


def _list_versions(state: EmulatorState, call: Call) -> Reply:
    return ok(state.list_versions(call.project, call.params["name"], call.request.query))


def _get_version(state: EmulatorState, call: Call) -> Reply:
    return ok(state.get_version(call.project, call.params["name"], call.params["version"]))


def _delete_version(state: EmulatorState, call: Call) -> Reply:
    force = call.request.query.get("force", "").lower() == "true"
    return ok(state.delete_version(call.project, call.params["name"], call.params["version"], force=force))


def _responses(state: EmulatorState, call: Call) -> Reply:
    body = call.request.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    if body.get("stream"):
        raise bad_request("The emulator does not stream; send 'stream': false.", param="stream")
    name = call.params["name"]
    version, number = state.route(call.project, name, pinned_version(body), "responses")
    text = _as_set(state.image_reply(call.project, name, version), version)
    reply = replies.responses_reply(
        call.project, name, version, call=number, body=body, created_at=int(time.time()), text=text
    )
    return ok(reply, **{"x-ms-agent-version": version})


def _invocations(state: EmulatorState, call: Call) -> Reply:
    body = call.request.json()
    name = call.params["name"]
    version, number = state.route(call.project, name, pinned_version(body), "invocations")
    text = _as_set(state.image_reply(call.project, name, version), version)
    reply = replies.invocations_reply(call.project, name, version, number, body, text=text)
    return ok(reply, **{"x-ms-agent-version": version})


def _as_set(setting: ImageReply | None, version: str) -> str | None:
    """Answer as ``image_replies`` says for the version's image: after its delay, its error
    status (raised), or its text (returned; ``None``: the usual reply)."""
    if setting is None:
        return None
    time.sleep(setting.delay_s)
    if setting.status is not None:
        message = setting.text or f"Version {version} of the agent failed to answer (emulated)."
        raise ApiError(setting.status, status_code_name(setting.status), message)
    return setting.text


def _get_deployment(state: EmulatorState, call: Call) -> Reply:
    name = call.params["name"]
    if not state.has_resource("deployment", name):
        raise not_found(f"Deployment '{name}' was not found in the project.")
    return ok(resources.model_deployment(name))


def _get_connection(state: EmulatorState, call: Call) -> Reply:
    name = call.params["name"]
    if not state.has_resource("connection", name):
        raise not_found(f"Connection '{name}' was not found in the project.")
    return ok(resources.connection(call.project, name))


def pinned_version(body: Any) -> str | None:
    """Return ``agent_reference.version`` from a request body, the SDK's way to pin a version."""
    reference = body.get("agent_reference") if isinstance(body, dict) else None
    version = reference.get("version") if isinstance(reference, dict) else None
    return None if version is None else str(version)


_INVOCATIONS = re.compile(rf"/agents/{_NAME}/endpoint/protocols/invocations")
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("GET", re.compile(r"/agents"), _list_agents),
    ("POST", re.compile(r"/agents"), _create_agent),
    ("GET", re.compile(rf"/agents/{_NAME}"), _get_agent),
    ("PATCH", re.compile(rf"/agents/{_NAME}"), _update_agent),
    ("DELETE", re.compile(rf"/agents/{_NAME}"), _delete_agent),
    ("GET", re.compile(rf"/agents/{_NAME}/versions"), _list_versions),
    ("POST", re.compile(rf"/agents/{_NAME}/versions"), _create_version),
    ("GET", re.compile(rf"/agents/{_NAME}/versions/(?P<version>[^/]+)"), _get_version),
    ("DELETE", re.compile(rf"/agents/{_NAME}/versions/(?P<version>[^/]+)"), _delete_version),
    ("POST", re.compile(rf"/agents/{_NAME}/endpoint/protocols/openai(?:/v1)?/responses"), _responses),
    ("POST", _INVOCATIONS, _invocations),
    ("GET", re.compile(rf"/deployments/{_NAME}"), _get_deployment),
    ("GET", re.compile(rf"/connections/{_NAME}"), _get_connection),
]
