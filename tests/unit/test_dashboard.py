"""The dashboard's page and files (deployer.entrypoints.dashboard), and ``GET /api/caller``, which
tells the page whether to offer actions."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import azure.functions as func
import pytest

import function_app
from deployer.entrypoints import dashboard
from deployer.entrypoints.http import routes as http_api
from localdev.devhost.index import index_app
from tests.unit.http_helpers import FakeRoot, FakeSettings, doc, principal

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "deployer" / "entrypoints" / "dashboard" / "static"


def caller(ctx, monkeypatch, headers, *, auth_enabled=False):
    settings = FakeSettings(auth_enabled=auth_enabled)
    monkeypatch.setattr(http_api, "root", lambda: FakeRoot(ctx, settings))
    request = func.HttpRequest("GET", "http://localhost/api/caller", headers=headers, body=b"")
    return http_api.get_caller(request)


def test_the_page_and_its_files_are_anonymous_and_every_api_route_still_needs_a_key():
    levels = {f.route.template: f.auth_level for f in index_app(function_app.app, {}).http}

    assert levels.pop("ui") == levels.pop("ui/{name}") == "anonymous"
    assert set(levels.values()) == {"function"}


@pytest.mark.parametrize("name", sorted(dashboard.ASSETS))
def test_each_file_is_served_with_its_type_and_headers_that_keep_it_to_its_own_files(name):
    response = dashboard.asset_response(name)

    assert response.status_code == 200 and response.get_body() == (STATIC / name).read_bytes()
    assert response.headers["Content-Type"] == dashboard.ASSETS[name]
    policy = response.headers["Content-Security-Policy"]
    assert (
        "default-src 'none'" in policy
        and "script-src 'self'" in policy
        and "frame-ancestors 'none'" in policy
    )
    assert "unsafe-inline" not in policy and response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", ["", "../__init__.py", "static/app.js", "secrets.json", "APP.JS"])
def test_any_other_name_is_404(name):
    assert dashboard.asset_response(name).status_code == 404


def test_every_file_the_page_loads_is_served_and_every_served_file_is_in_the_folder():
    page = (STATIC / "index.html").read_text()
    scripts = "".join((STATIC / n).read_text() for n in dashboard.ASSETS if n.endswith(".js"))
    loaded = set(re.findall(r'(?:src|href)="/api/ui/([^"]+)"', page))
    loaded |= set(re.findall(r'from "\./([^"]+)"', scripts))

    assert loaded == set(dashboard.ASSETS) - {"index.html"}
    assert {p.name for p in STATIC.iterdir()} == set(dashboard.ASSETS)


def test_the_scripts_never_insert_api_text_as_html():
    scripts = "".join((STATIC / n).read_text() for n in dashboard.ASSETS if n.endswith(".js"))

    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", scripts)


def test_the_files_ship_with_the_package_and_the_published_app():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    ignored = [p.strip().rstrip("/") for p in (ROOT / ".funcignore").read_text().splitlines()]
    ignored = [p for p in ignored if p and not p.startswith("#")]
    shipped = [p.relative_to(ROOT).as_posix() for p in STATIC.iterdir()]

    assert data["deployer.entrypoints.dashboard"] == ["static/*"]
    assert not [
        (path, rule)
        for path in shipped
        for rule in ignored
        for name in (path, *Path(path).parts, *(p.as_posix() for p in Path(path).parents))
        if fnmatch.fnmatch(name, rule)
    ]


def test_without_app_service_authentication_the_key_holder_may_write_whatever_principal_is_sent(
    ctx, monkeypatch
):
    body = doc(caller(ctx, monkeypatch, {"x-ms-client-principal": principal("Reader")}))

    assert body == {"name": None, "signed_in": False, "can_write": True, "write_role": "Deployer.Write"}


def test_a_signed_in_caller_may_write_only_with_the_write_role(ctx, monkeypatch):
    reader = doc(caller(ctx, monkeypatch, {"x-ms-client-principal": principal("Reader")}, auth_enabled=True))
    writer = doc(
        caller(ctx, monkeypatch, {"x-ms-client-principal": principal("Deployer.Write")}, auth_enabled=True)
    )

    assert (reader["name"], reader["signed_in"], reader["can_write"]) == ("ana@example.com", True, False)
    assert writer["can_write"] is True


def test_behind_app_service_authentication_an_unreadable_principal_is_a_401_problem(ctx, monkeypatch):
    response = caller(ctx, monkeypatch, {"x-ms-client-principal": "%%%"}, auth_enabled=True)

    assert response.status_code == 401 and doc(response)["type"].endswith(":unauthenticated")
