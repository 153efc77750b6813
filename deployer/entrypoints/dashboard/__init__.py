"""The dashboard: ``GET /api/ui`` serves a page (plain HTML, CSS and JavaScript in ``static/``,
no build step) that reads the HTTP API from the viewer's browser and refreshes itself.

The page and its assets are ``ANONYMOUS``: they hold no data, and a browser that navigates to a
page cannot send ``x-functions-key`` (only ``?code=``, which would put the key in the address bar,
the history and the logs). Every piece of data comes from the API routes, which keep their own
auth level: the page asks for a function key once and sends it in the header, from the tab's
``sessionStorage``. Behind App Service Authentication the platform guards the page as any path.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import azure.functions as func

#: The files the page is made of, and their media types; nothing else is served.
ASSETS: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "views.js": "text/javascript; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
#: The page loads only its own files and talks only to its own origin; nothing may frame it.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it untyped


@blueprint.route(route="ui", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def dashboard_page(req: func.HttpRequest) -> func.HttpResponse:
    """The dashboard page (no data: it reads the API from the browser)."""
    return asset_response("index.html")


@blueprint.route(route="ui/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def dashboard_asset(req: func.HttpRequest) -> func.HttpResponse:
    """One of the page's scripts or its style sheet; 404 for any other name."""
    return asset_response(req.route_params.get("name", ""))


def asset_response(name: str) -> func.HttpResponse:
    """``name`` from :data:`ASSETS` with its media type and the security headers, else 404."""
    media_type = ASSETS.get(name)
    if media_type is None:
        return func.HttpResponse("not found", status_code=404, mimetype="text/plain")
    return func.HttpResponse(
        _read(name), status_code=200, headers={"Content-Type": media_type, **SECURITY_HEADERS}
    )


@cache
def _read(name: str) -> bytes:
    return (files(__name__) / "static" / name).read_bytes()
