"""The HTTP triggers on the fakes: status codes, headers and problem documents. The composition
root is replaced by a hand-written one holding the fake context."""

from __future__ import annotations

import pytest

from deployer.entrypoints.http import routes as http_api
from tests.unit import conftest
from tests.unit.http_helpers import FakeRoot, FakeSettings, doc, get, post, principal

IMAGE = "myregistry.azurecr.io/agents/support-bot:1.2.0"


@pytest.fixture
def settings():
    return FakeSettings()


@pytest.fixture
def app(ctx, monkeypatch, settings):
    monkeypatch.setattr(http_api, "root", lambda: FakeRoot(ctx, settings))
    return ctx


def test_a_deploy_answers_202_with_the_deployment_and_its_location(app):
    response = post(http_api.start_deployment, {"agent": "support-bot", "image": IMAGE})
    body = doc(response)
    assert response.status_code == 202 and response.mimetype == "application/json"
    assert response.headers["Location"] == f"/api/deployments/{body['id']}"
    assert (body["status"], body["source"], body["requested_by"]) == ("creating", "manual", "function key")


def test_a_repeated_idempotency_key_replays_and_another_body_conflicts(app):
    headers = {"Idempotency-Key": "build-17"}
    first = post(http_api.start_deployment, {"agent": "support-bot", "image": IMAGE}, headers=headers)
    again = post(http_api.start_deployment, {"image": IMAGE, "agent": "support-bot"}, headers=headers)
    other = post(http_api.start_deployment, {"agent": "support-bot", "image": IMAGE + "1"}, headers=headers)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert doc(again)["id"] == doc(first)["id"]
    assert other.status_code == 409 and other.mimetype == "application/problem+json"
    assert app.platform.count("create_version") == 1


@pytest.mark.parametrize(
    ("raw", "headers", "status"),
    [
        (b"{not json", {}, 400),
        (b'{"agent": "support-bot", "image": "x", "extra": 1}', {}, 400),
        (b'{"agent": "support-bot"}', {"Content-Type": "text/plain"}, 415),
        (b'{"agent": "' + b"a" * 70_000 + b'"}', {}, 413),
        (b'{"agent": "nobody", "image": "myregistry.azurecr.io/agents/support-bot:1.2.0"}', {}, 404),
        (b'{"agent": "support-bot", "image": "evil.azurecr.io/agents/support-bot:1.2.0"}', {}, 403),
    ],
)
def test_bad_input_is_a_problem_and_writes_nothing(app, raw, headers, status):
    response = post(http_api.start_deployment, None, raw=raw, headers={**headers, "Idempotency-Key": "k"})
    problem = doc(response)
    assert (response.status_code, problem["status"]) == (status, status)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert problem["type"].startswith("urn:agent-deployer:problem:") and problem["detail"]
    assert (app.store.records, app.store.keys, app.store.agents) == ({}, {}, {})


def test_behind_app_service_authentication_the_write_role_is_required(app, settings):
    settings.auth_enabled = True  # WEBSITE_AUTH_ENABLED
    denied = post(
        http_api.start_deployment,
        {"agent": "support-bot", "image": IMAGE},
        headers={"x-ms-client-principal": principal("Reader")},
    )
    assert denied.status_code == 403 and app.store.records == {}
    settings.write_role = "Ops"  # DEPLOYER_WRITE_ROLE
    allowed = post(
        http_api.start_deployment,
        {"agent": "support-bot", "image": IMAGE},
        headers={"x-ms-client-principal": principal("Ops")},
    )
    assert allowed.status_code == 202 and doc(allowed)["requested_by"] == "ana@example.com"


def test_a_rollback_with_nothing_to_go_back_to_is_a_conflict(app):
    response = post(
        http_api.rollback_agent,
        None,
        raw=b"",
        route_params={"agent": "support-bot"},
        headers={"Content-Type": ""},
    )
    assert response.status_code == 409 and doc(response)["type"].endswith("nothing-to-roll-back-to")


def test_reads_refuse_bad_queries_and_unknown_ids(app):
    assert get(http_api.list_deployments, params={"limit": "0"}).status_code == 400
    missing = get(http_api.get_deployment, route_params={"id": "123"})
    assert missing.status_code == 404 and doc(missing)["status"] == 404
    assert doc(get(http_api.list_deployments)) == {"items": [], "next": None}
    assert [a["name"] for a in doc(get(http_api.list_agents))["items"]] == [
        a["name"] for a in conftest.CONFIG["agents"]
    ]


def test_health_is_503_when_an_endpoint_does_not_answer(app):
    assert get(http_api.health).status_code == 200
    app.platform.unreachable.add(app.default_endpoint)
    response = get(http_api.health)
    assert response.status_code == 503 and doc(response)["status"] == "unavailable"


def test_health_is_503_when_the_deployer_cannot_start(monkeypatch):
    def broken():
        raise RuntimeError("no settings")

    monkeypatch.setattr(http_api, "root", broken)
    response = get(http_api.health)
    assert response.status_code == 503 and doc(response)["checks"][0]["error"] == "RuntimeError"


def test_a_lost_race_on_the_agent_row_is_a_retryable_conflict(app, monkeypatch):
    from deployer.domain.errors import Conflict

    def always_lost(state):
        raise Conflict(state.name)

    monkeypatch.setattr(app.store, "save_agent", always_lost)
    response = post(http_api.start_deployment, {"agent": "support-bot", "image": IMAGE})
    assert response.status_code == 409 and response.headers["Retry-After"] == "2"


HELD = "sha256:" + "b" * 64


def agent_post(function, agent="support-bot", *, headers=None, **route):
    return post(function, None, raw=b"", headers=headers, route_params={"agent": agent, **route})


def test_holds_are_listed_and_released_once(app):
    from deployer.rollout import holds

    holds.hold(app, "support-bot", HELD, reason="rollback", by="ana", deployment_id="1")
    listed = get(http_api.list_holds, route_params={"agent": "support-bot"})
    assert listed.status_code == 200
    assert doc(listed) == {
        "items": [
            {
                "digest": HELD,
                "reason": "rollback",
                "at": doc(listed)["items"][0]["at"],
                "by": "ana",
                "deployment_id": "1",
            }
        ],
        "paused": False,
    }
    released = agent_post(http_api.release_hold, digest=HELD)
    assert (released.status_code, doc(released)) == (200, {"released": True})
    assert doc(agent_post(http_api.release_hold, digest=HELD)) == {"released": False}
    assert app.store.get_agent("support-bot").holds == ()


def test_pause_and_resume_are_recorded_with_the_caller(app, settings):
    settings.auth_enabled = True
    signed_in = {"x-ms-client-principal": principal("Deployer.Write")}
    paused = agent_post(http_api.pause_agent, headers=signed_in)
    assert paused.status_code == 200
    assert doc(paused) | {"paused_at": None} == {
        "agent": "support-bot",
        "paused": True,
        "paused_by": "ana@example.com",
        "paused_at": None,
    }
    assert doc(get(http_api.list_holds, route_params={"agent": "support-bot"}))["paused"] is True
    resumed = agent_post(
        http_api.resume_agent, headers={"x-ms-client-principal": principal("Deployer.Write")}
    )
    assert (resumed.status_code, doc(resumed)["paused"]) == (200, False)
    assert app.store.get_agent("support-bot").paused is False


@pytest.mark.parametrize(
    ("function", "agent", "digest", "headers", "status", "slug"),
    [
        ("release_hold", "support-bot", "sha256:" + "B" * 64, {}, 400, "invalid-query"),
        ("release_hold", "support-bot", "sha256:" + "b" * 63, {}, 400, "invalid-query"),
        ("release_hold", "support-bot", "md5:" + "b" * 64, {}, 400, "invalid-query"),
        ("release_hold", "nobody", HELD, {}, 404, "unknown-agent"),
        ("pause_agent", "nobody", None, {}, 404, "unknown-agent"),
        ("resume_agent", "-bad-", None, {}, 400, "invalid-query"),
        (
            "pause_agent",
            "support-bot",
            None,
            {"x-ms-client-principal": principal("Reader")},
            403,
            "forbidden",
        ),
        ("release_hold", "support-bot", HELD, {"x-ms-client-principal": "%%%"}, 401, "unauthenticated"),
    ],
)
def test_hold_and_pause_refusals_are_problems_and_write_nothing(
    app, settings, function, agent, digest, headers, status, slug
):
    settings.auth_enabled = True
    headers = headers or {"x-ms-client-principal": principal("Deployer.Write")}
    route = {"digest": digest} if digest is not None else {}
    response = agent_post(getattr(http_api, function), agent, headers=headers, **route)
    assert (response.status_code, response.headers["Content-Type"]) == (status, "application/problem+json")
    assert doc(response)["type"].endswith(slug) and doc(response)["detail"]
    assert app.store.agents == {}


def test_listing_the_deployments_of_an_unknown_agent_is_404(app):
    response = get(http_api.list_deployments, params={"agent": "nosuch"})
    assert response.status_code == 404 and doc(response)["type"].endswith("unknown-agent")
    assert "'nosuch'" in doc(response)["detail"]
    assert get(http_api.list_deployments, params={"agent": "support-bot"}).status_code == 200


def test_listing_the_holds_of_an_unknown_agent_is_404(app):
    response = get(http_api.list_holds, route_params={"agent": "nobody"})
    assert response.status_code == 404 and doc(response)["type"].endswith("unknown-agent")
