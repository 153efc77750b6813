"""Canary control and promotion through the HTTP triggers, on the fakes: promote and abort a
canary (200 / 404 / 409), promote an agent's verified image to another (202 with Location,
idempotent, 404 / 409), strict bodies, and the write role behind App Service Authentication."""

from __future__ import annotations

import pytest

from deployer.entrypoints.http import routes as http_api
from tests.unit.builders import (
    canary_context,
    live,
    promotion_context,
    push,
    run,
    serving,
    stable_then_canary,
)
from tests.unit.http_helpers import FakeRoot, FakeSettings, doc, post, principal


@pytest.fixture
def settings():
    return FakeSettings()


@pytest.fixture
def canary_app(monkeypatch, settings):
    ctx = canary_context()
    monkeypatch.setattr(http_api, "root", lambda: FakeRoot(ctx, settings))
    return ctx


@pytest.fixture
def promo_app(monkeypatch, settings):
    ctx = promotion_context()
    monkeypatch.setattr(http_api, "root", lambda: FakeRoot(ctx, settings))
    return ctx


def on(function, deployment_id, *, headers=None):
    return post(function, None, raw=b"", headers=headers, route_params={"id": deployment_id})


def promote_to(agent, body, *, headers=None, raw=None):
    return post(http_api.promote_agent, body, raw=raw, headers=headers, route_params={"agent": agent})


def test_promoting_a_canary_gives_its_version_all_the_traffic(canary_app):
    second = stable_then_canary(canary_app)
    response = on(http_api.promote_canary, second.id)
    body = doc(response)
    assert response.status_code == 200 and body["id"] == second.id
    assert body["canary"]["promote"] is True
    run(canary_app, 2)
    assert canary_app.store.records[second.id].status == "verified"
    assert serving(canary_app) == [("2", 100)]
    again = on(http_api.promote_canary, second.id)
    assert again.status_code == 409 and doc(again)["type"].endswith(":not-in-canary")


def test_aborting_a_canary_rolls_it_back_and_records_the_caller(canary_app, settings):
    second = stable_then_canary(canary_app)
    headers = {"X-MS-CLIENT-PRINCIPAL": principal("Deployer.Write")}
    response = on(http_api.abort_canary, second.id, headers=headers)
    body = doc(response)
    assert response.status_code == 200 and body["status"] == "rolled_back"
    assert serving(canary_app) == [("1", 100)]
    assert on(http_api.abort_canary, second.id).status_code == 409


@pytest.mark.parametrize("function", [http_api.promote_canary, http_api.abort_canary])
def test_canary_actions_refuse_unknown_and_malformed_ids(canary_app, function):
    missing = on(function, "0" * 19)
    assert missing.status_code == 404 and doc(missing)["type"].endswith(":not-found")
    assert missing.mimetype == "application/problem+json"
    assert on(function, "not-an-id!").status_code == 400


def test_a_verified_deployment_is_not_in_a_canary(canary_app):
    first = live(canary_app, push(canary_app, "v1", 1))
    refused = on(http_api.promote_canary, first.id)
    assert refused.status_code == 409 and first.id in doc(refused)["detail"]


def test_the_write_role_is_required_behind_app_service_authentication(canary_app, settings):
    settings.auth_enabled = True  # WEBSITE_AUTH_ENABLED
    second = stable_then_canary(canary_app)
    reader = {"X-MS-CLIENT-PRINCIPAL": principal("Deployer.Read")}
    assert on(http_api.abort_canary, second.id, headers=reader).status_code == 403
    assert promote_to("vbot", {"to": "tolerant"}, headers=reader).status_code == 403
    assert canary_app.store.records[second.id].status == "canary"


def test_an_agent_is_promoted_once_with_202_and_a_location(promo_app):
    staged = live(promo_app, push(promo_app, "v1", 1))
    headers = {"X-MS-CLIENT-PRINCIPAL": principal("Deployer.Write")}
    response = promote_to("vbot", {"to": "vbot-prod"}, headers=headers)
    body = doc(response)
    assert response.status_code == 202 and response.headers["Location"] == f"/api/deployments/{body['id']}"
    assert (body["id"], body["agent"], body["promoted_from"]) == (staged.promoted_to, "vbot-prod", staged.id)
    assert doc(promote_to("vbot", {"to": "vbot-prod"}))["id"] == body["id"]


def test_promotion_refusals_are_problems(promo_app):
    nothing = promote_to("vbot", {"to": "vbot-prod"})
    assert nothing.status_code == 409 and doc(nothing)["type"].endswith(":not-promotable")
    unknown = promote_to("vbot", {"to": "nobody"})
    assert unknown.status_code == 404 and doc(unknown)["type"].endswith(":unknown-agent")
    assert promote_to("ghost", {"to": "vbot-prod"}).status_code == 404


@pytest.mark.parametrize(
    ("agent", "body"),
    [
        ("vbot", {}),
        ("vbot", {"to": "vbot-prod", "force": True}),
        ("vbot", {"to": "vbot-prod\n"}),
        ("vbot", {"to": 3}),
        ("vbot prod", {"to": "vbot-prod"}),
    ],
)
def test_promotion_bodies_and_names_are_strict(promo_app, agent, body):
    refused = promote_to(agent, body)
    assert refused.status_code == 400 and refused.mimetype == "application/problem+json"
    assert not [d for d in promo_app.store.records.values() if d.agent == "vbot-prod"]


def test_a_promotion_body_must_be_json(promo_app):
    as_text = {"Content-Type": "text/plain"}
    assert promote_to("vbot", None, raw=b'{"to": "vbot-prod"}', headers=as_text).status_code == 415
    assert promote_to("vbot", None, raw=b"").status_code == 400
    assert promote_to("vbot", None, raw=b"[1]").status_code == 400
