"""The stand-in's admin API, at the origin root, without authentication. Admin calls are not logged.

``PUT /_emulator/images``
    Body ``{"images": [{"image": "reg.azurecr.io/repo:tag", "digest": "sha256:<64 hex>",
    "platforms": ["linux/amd64", "linux/arm64"]}]}``; ``digest`` and ``platforms`` are optional
    (``localdev.acr_emulator.seeding``). Adds the images or re-points their tags; others stay.
    All are checked first: one bad entry is a 400 and nothing is stored. Answers
    ``{"images": [{"image", "digest", "mediaType", "platforms": [{"platform", "digest"}]}]}``.

``GET /_emulator/images``
    ``{"images": [{"image", "digest"}]}``: every tag of every registry.

``GET /_emulator/requests``
    ``{"requests": [...]}``: registry requests received, oldest first, each ``{"time", "method",
    "path", "query", "headers", "body", "status"}``; bearer tokens shown as ``Bearer ***`` and
    the tokens of the token endpoints' forms as ``***``.

``PUT /_emulator/faults``
    Body ``{"faults": [{"path": "<regex>", "status": 503, "method"?: "GET", "count"?: 1}]}``:
    the next ``count`` registry requests matching each answer ``status``, or with ``"drop": true``
    (and no status) get no answer, their connection closed (``localdev.acr_emulator.faults``);
    replaces the faults set before. ``GET /_emulator/faults``: those with uses left.

``POST /_emulator/reset``
    Forget every registry, image, logged request and fault.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from localdev.acr_emulator.faults import parse_faults
from localdev.acr_emulator.seeding import seed
from localdev.acr_emulator.state import RegistryState
from localdev.acr_emulator.wire import RegistryError, Reply, Request, json_reply

ADMIN_PREFIX = "/_emulator"


def handle(state: RegistryState, request: Request) -> Reply:
    """Serve one request under ``/_emulator``."""
    route = (request.method, request.path.rstrip("/"))
    try:
        return _ROUTES[route](state, request)
    except KeyError:
        error = RegistryError(
            HTTPStatus.NOT_FOUND, "NOT_FOUND", f"No admin route for {request.method} {request.path}."
        )
        return error.reply()
    except RegistryError as error:
        return error.reply()


def _seed(state: RegistryState, request: Request) -> Reply:
    return json_reply(HTTPStatus.OK, {"images": seed(state, request.json())})


def _faults(state: RegistryState, request: Request) -> Reply:
    if request.method == "PUT":
        state.set_faults(parse_faults(request.json()))
    return json_reply(HTTPStatus.OK, {"faults": state.faults()})


def _reset(state: RegistryState, request: Request) -> Reply:
    state.reset()
    return json_reply(HTTPStatus.OK, {"reset": True})


_ROUTES: dict[tuple[str, str], Callable[[RegistryState, Request], Reply]] = {
    ("PUT", "/_emulator/images"): _seed,
    ("GET", "/_emulator/images"): lambda state, _: json_reply(HTTPStatus.OK, {"images": state.images()}),
    ("GET", "/_emulator/requests"): lambda state, _: json_reply(
        HTTPStatus.OK, {"requests": state.requests()}
    ),
    ("PUT", "/_emulator/faults"): _faults,
    ("GET", "/_emulator/faults"): _faults,
    ("POST", "/_emulator/reset"): _reset,
}
