"""The emulator's admin API, at the origin root, without authentication. Admin calls are not logged.

``GET /_emulator/settings``
    The current settings (below), faults with the number of uses left.

``PUT /_emulator/settings``
    Replace the settings named in the JSON body; every key is optional; unknown keys are a 400::

        {
          "provision_delay_s": 0.5,      # creating -> active/failed after this; null: never
          "delete_delay_s": 0.2,         # deleting -> deleted (gone, 404) after this; null: never
          "registry_endpoint": "https://127.0.0.1:8443",  # the registry stand-in images are pulled
                                         # from (registry_pull): absent images end AcrImageNotFound
          "failing_images": {"reg.azurecr.io/repo:tag": "UnauthorizedAcrPull"},  # end failed, that code
          "faults": [{"method": "POST", "path": "<regex>", "status": 429, "count": 2,
                      "retry_after_s": 1, "delay_s": 0}],
          "image_replies": {"reg.azurecr.io/repo:tag": {"status": 500, "text": "...", "delay_s": 0}},
          "model_deployments": ["gpt-5-mini"],   # GET /deployments/{name}: 404 for others; null: all
          "connections": ["my-search"],           # GET /connections/{name}: likewise
          "default_selector": "latest",   # new agents route @latest at 100 %; "none": no selector
          "session_linger_s": null,       # a version stays busy this long after a call; null: never
          "require_preview_header": true, # Invocations without Foundry-Features: 403
          "enforce_protocols": true,      # only protocol_configuration's protocols (default responses)
          "projects": null,               # known projects (fnmatch patterns); null: any
          "identity_delay_s": 0           # instance_identity appears on a version after this
        }

    The platform behaviours behind the last six are described in ``platform``. The settings given
    at start (``--settings``) are the baseline that ``reset`` goes back to.

    Timings and image outcomes are fixed when a version is created. A fault answers the first
    ``count`` project requests whose method matches (``method`` omitted: any) and whose path
    (without query) matches the ``path`` regex, with ``status``, an Azure-shaped error and
    ``Retry-After`` when ``retry_after_s`` is set; ``delay_s`` is slept first (a hang). With
    ``status`` omitted the request is served normally after the delay. ``faults`` replaces the
    whole list. ``image_replies`` sets how the Responses and Invocations endpoints of every version
    running an image answer (a sick or slow agent): after ``delay_s``, the error ``status``, or
    the reply with ``text`` as its text; each key optional; it replaces the whole map.

``GET /_emulator/requests``
    ``{"requests": [...]}``: project requests received, oldest first, each
    ``{"time", "method", "path", "query": {...}, "headers": {...}, "body": <JSON or null>}``
    with the bearer token shown as ``Bearer ***``.

``POST /_emulator/reset``
    Forget all projects, faults and logged requests; the settings go back to the baseline.

``POST /_emulator/projects/{project}/agents/{name}/versions/{version}/status``
    Body ``{"status": "active" | "failed", "error": {"code": ..., "message": ...}}`` (error
    optional) forces that version's status; answers the version.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from localdev.foundry_emulator.errors import ApiError, not_found
from localdev.foundry_emulator.state import EmulatorState
from localdev.foundry_emulator.wire import Reply, Request, error_reply, ok

ADMIN_PREFIX = "/_emulator"
_STATUS_PATH = re.compile(
    r"^/_emulator/projects/(?P<project>[^/]+)/agents/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/status$"
)


def handle(state: EmulatorState, request: Request) -> Reply:
    """Serve one request under ``/_emulator``."""
    try:
        return _dispatch(state, request)
    except ApiError as error:
        return error_reply(error)


def _dispatch(state: EmulatorState, request: Request) -> Reply:
    route = (request.method, request.path.rstrip("/"))
    if route == ("GET", "/_emulator/settings"):
        return ok(state.settings())
    if route == ("PUT", "/_emulator/settings"):
        return ok(state.update_settings(request.json()))
    if route == ("GET", "/_emulator/requests"):
        return ok({"requests": state.requests()})
    if route == ("POST", "/_emulator/reset"):
        state.reset()
        return ok({"reset": True})
    match = _STATUS_PATH.match(request.path)
    if match is not None and request.method == "POST":
        project, name, version = (unquote(part) for part in match.group("project", "name", "version"))
        return ok(state.force_status(project, name, version, request.json()))
    raise not_found(f"No admin route for {request.method} {request.path}.")
