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

``POST /_emulator/reset``
    Forget every registry, image and logged request.
"""

from __future__ import annotations

from http import HTTPStatus

from localdev.acr_emulator.seeding import seed
from localdev.acr_emulator.state import RegistryState
from localdev.acr_emulator.wire import RegistryError, Reply, Request, json_reply

ADMIN_PREFIX = "/_emulator"


def handle(state: RegistryState, request: Request) -> Reply:
    """Serve one request under ``/_emulator``."""
    route = (request.method, request.path.rstrip("/"))
    try:
        if route == ("PUT", "/_emulator/images"):
            return json_reply(HTTPStatus.OK, {"images": seed(state, request.json())})
        if route == ("GET", "/_emulator/images"):
            return json_reply(HTTPStatus.OK, {"images": state.images()})
        if route == ("GET", "/_emulator/requests"):
            return json_reply(HTTPStatus.OK, {"requests": state.requests()})
        if route == ("POST", "/_emulator/reset"):
            state.reset()
            return json_reply(HTTPStatus.OK, {"reset": True})
        raise RegistryError(
            HTTPStatus.NOT_FOUND, "NOT_FOUND", f"No admin route for {request.method} {request.path}."
        )
    except RegistryError as error:
        return error.reply()
