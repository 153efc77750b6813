"""Who may write, through the dev host: the ``x-ms-client-principal`` header is trusted only where
App Service Authentication is on (``WEBSITE_AUTH_ENABLED=True``, set by App Service)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from localdev.stack import Stack
from tests.integration.conftest import Http
from tests.integration.extra_hosts import extra_host

REGISTRY = "myregistry.azurecr.io"
AUTHED_HOST = "deployer-easy-auth"


def principal(*roles: str, name: str = "ana@example.com", **extra: Any) -> str:
    claims = [{"typ": "preferred_username", "val": name}] + [{"typ": "roles", "val": r} for r in roles]
    document = {"auth_typ": "aad", "claims": claims, **extra}
    return base64.b64encode(json.dumps(document).encode()).decode()


@pytest.fixture(scope="module")
def authed(stack: Stack) -> Iterator[str]:
    """A second dev host on the same services, as App Service runs it with Easy Auth on."""
    yield from extra_host(stack, AUTHED_HOST, {"WEBSITE_AUTH_ENABLED": "True"}, run_timers=False)


def pause(http: Http, base: str, agent: str, headers: dict[str, str]) -> tuple[int, Any]:
    return http.request("POST", f"{base}/api/agents/{agent}/pause", raw=b"", headers=headers)


def resume(http: Http, base: str, agent: str) -> None:
    headers = {"x-ms-client-principal": principal("Deployer.Write")}
    status, _ = http.request("POST", f"{base}/api/agents/{agent}/resume", raw=b"", headers=headers)
    assert status == 200


def test_without_easy_auth_a_forged_principal_is_ignored_and_the_caller_is_the_function_key(http):
    forged = {"x-ms-client-principal": principal("Deployer.Write", name="ceo@example.com")}
    status, body = http.request(
        "POST",
        f"{http.info.deployer_url}/api/deployments",
        {"agent": "manual-bot", "image": f"{REGISTRY}/agents/manual-bot:2.2.0"},
        forged,
    )
    assert status == 202 and body["requested_by"] == "function key", body
    status, paused = pause(http, http.info.deployer_url, "manual-bot", forged)
    try:
        assert status == 200 and paused["paused_by"] == "function key", paused
    finally:
        resume(http, http.info.deployer_url, "manual-bot")


def test_with_easy_auth_a_write_without_a_principal_is_refused(http, authed):
    status, problem = pause(http, authed, "manual-bot", {})
    assert status == 401 and problem["type"].endswith(":unauthenticated"), problem
    assert http.api("agents/manual-bot/holds")["paused"] is False


def test_with_easy_auth_roles_come_only_from_the_roles_claim(http, authed):
    claims = [{"typ": "preferred_username", "val": "mallory"}, {"typ": "groups", "val": "Deployer.Write"}]
    document = {"auth_typ": "aad", "claims": claims, "role_typ": "groups"}
    other_claim = {"x-ms-client-principal": base64.b64encode(json.dumps(document).encode()).decode()}
    status, problem = pause(http, authed, "manual-bot", other_claim)
    assert status == 403 and problem["type"].endswith(":forbidden"), problem
    assert http.api("agents/manual-bot/holds")["paused"] is False


def test_with_easy_auth_the_signed_in_caller_with_the_role_is_recorded(http, authed):
    signed_in = {"x-ms-client-principal": principal("Deployer.Write")}
    status, paused = pause(http, authed, "manual-bot", signed_in)
    try:
        assert status == 200 and paused["paused_by"] == "ana@example.com", paused
    finally:
        resume(http, authed, "manual-bot")


@pytest.mark.parametrize(
    ("sent", "status", "slug"),
    [
        (principal("Read"), 403, "forbidden"),
        ("%%%", 401, "unauthenticated"),
        (None, 401, "unauthenticated"),
    ],
    ids=["without the write role", "unreadable", "none"],
)
def test_with_easy_auth_a_refused_deploy_writes_nothing(http, authed, sent, status, slug):
    before = http.api("deployments?agent=manual-bot&limit=200")["items"]
    headers = {"x-ms-client-principal": sent} if sent else {}
    body = {"agent": "manual-bot", "image": f"{REGISTRY}/agents/manual-bot:2.3.0"}
    answer, problem = http.request("POST", f"{authed}/api/deployments", body, headers)
    assert (answer, problem["type"].rsplit(":", 1)[-1]) == (status, slug), problem
    assert http.api("deployments?agent=manual-bot&limit=200")["items"] == before
