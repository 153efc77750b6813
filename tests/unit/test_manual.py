"""Manual deploys and rollbacks (deployer.manual) on the fakes: checks before writes, the
Idempotency-Key, and what a rollback goes back to."""

from __future__ import annotations

from dataclasses import replace

import pytest

from deployer.config.parser import parse_config
from deployer.deploy import manual
from deployer.deploy.idempotency import IdempotencyKey
from deployer.deploy.poll import poll_once
from deployer.deploy.requests import DeployRequest, RollbackRequest
from deployer.domain import rollout
from deployer.domain.errors import Conflict, PlatformError, Refused
from deployer.domain.imageref import ImageRef
from tests.unit import conftest

REGISTRY = "myregistry.azurecr.io"
# The shared test configuration's top-level settings, with agents made for these tests.
CONFIG = {
    **conftest.CONFIG,
    "registries": [REGISTRY],
    "agents": [
        {
            "name": "bot",
            "repository": "agents/bot",
            "tags": "semver:>=1.0.0",
            "environment_variables": {"MODEL": "gpt-5-mini", "LOG_LEVEL": "info"},
        },
        {"name": "pinned", "repository": "agents/pinned", "registry": REGISTRY},
        {
            "name": "checked",
            "repository": "agents/checked",
            "smoke_test": {"input": "Reply with the word READY", "expect": {"contains": "READY"}},
        },
    ],
}


def digest(n: int) -> str:
    return "sha256:" + f"{n:064x}"


@pytest.fixture
def app(ctx):
    return replace(ctx, config=parse_config(CONFIG, {}))


def request(image: str, agent: str = "bot", **fields) -> DeployRequest:
    return DeployRequest(agent=agent, image=ImageRef.parse(image), **fields)


def deploy(app, image: str, *, key: IdempotencyKey | None = None, **fields):
    return manual.deploy(app, request(image, **fields), requested_by="ana@example.com", key=key).deployment


def settle(app, deployment, status: str = "active") -> None:
    app.platform.set_status(deployment.agent, deployment.version, status)
    app.clock.advance(3)
    poll_once(app, concurrency=2, budget_s=20)


def settle_verified(app, deployment) -> None:
    """Bring a deployment of a smoke-tested agent up; the fake answers its smoke test READY."""
    settle(app, deployment)
    for _ in range(3):
        if app.store.records[deployment.id].status == "verified":
            return
        app.clock.advance(10)
        poll_once(app, concurrency=2, budget_s=20)
    assert app.store.records[deployment.id].status == "verified"


def written(app) -> tuple[int, int, int, int]:
    store = app.store
    return len(store.records), len(store.keys), len(store.agents), app.platform.count("create_version")


def test_a_manual_deploy_creates_the_version_from_the_configured_definition(app):
    started = deploy(
        app, f"{REGISTRY}/agents/bot:1.2.0", environment_variables={"MODEL": "gpt-5"}, reason="hotfix"
    )
    assert (started.status, started.source, started.version) == ("creating", "manual", "1")
    assert (started.requested_by, started.reason) == ("ana@example.com", "hotfix")
    spec = app.platform.versions["bot"][0].spec
    assert spec.environment_variables == {"MODEL": "gpt-5", "LOG_LEVEL": "info"}
    assert app.store.records[started.id].reason == "hotfix"


def test_a_manual_deploy_may_go_below_the_highest_version_on_purpose(app):
    settle(app, deploy(app, f"{REGISTRY}/agents/bot:2.0.0"))
    older = deploy(app, f"{REGISTRY}/agents/bot:1.0.0")
    assert older.status == "creating"
    settle(app, older)
    assert app.store.get_agent("bot").active_id == older.id


@pytest.mark.parametrize(
    ("image", "agent", "env", "slug"),
    [
        (f"{REGISTRY}/agents/bot:1.0.0", "nobody", {}, "unknown-agent"),
        ("evil.azurecr.io/agents/bot:1.0.0", "bot", {}, "registry-not-allowed"),
        (f"{REGISTRY}/agents/other:1.0.0", "bot", {}, "not-allowed-by-config"),
        (f"{REGISTRY}/agents/bot:1.0.0", "bot", {"SECRET": "x"}, "not-allowed-by-config"),
        ("demo.azurecr.io/agents/pinned:1", "pinned", {}, "registry-not-allowed"),
    ],
)
def test_a_refused_deploy_writes_nothing(app, image, agent, env, slug):
    with pytest.raises(Refused) as refused:
        deploy(app, image, agent=agent, environment_variables=env)
    assert refused.value.slug == slug
    assert written(app) == (0, 0, 0, 0)


def test_an_agent_bound_to_a_registry_refuses_another_allowed_one(ctx):
    config = {**CONFIG, "registries": [REGISTRY, "other.azurecr.io"]}
    app = replace(ctx, config=parse_config(config, {}))
    with pytest.raises(Refused) as refused:
        deploy(app, "other.azurecr.io/agents/pinned:1", agent="pinned")
    assert refused.value.slug == "not-allowed-by-config"
    assert "deploys from myregistry.azurecr.io only" in refused.value.detail


def test_the_same_idempotency_key_and_body_start_one_deployment(app):
    key = IdempotencyKey(scope="POST /api/deployments|", key="k1", body_sha256="aaa")
    first = manual.deploy(app, request(f"{REGISTRY}/agents/bot:1.0.0"), requested_by=None, key=key)
    again = manual.deploy(app, request(f"{REGISTRY}/agents/bot:1.0.0"), requested_by=None, key=key)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.deployment.id == first.deployment.id
    assert app.platform.count("create_version") == 1


def test_the_same_idempotency_key_with_another_body_is_refused(app):
    key = IdempotencyKey(scope="s", key="k1", body_sha256="aaa")
    deploy(app, f"{REGISTRY}/agents/bot:1.0.0", key=key)
    before = written(app)
    with pytest.raises(Refused) as refused:
        deploy(app, f"{REGISTRY}/agents/bot:1.1.0", key=replace(key, body_sha256="bbb"))
    assert refused.value.slug == "idempotency-key-reused"
    assert written(app) == before


def test_a_key_taken_by_a_request_that_has_not_started_yet_is_in_progress(app):
    key = IdempotencyKey(scope="s", key="k1", body_sha256="aaa")
    app.store.claim(key.lock, "aaa|other-request")
    with pytest.raises(Refused) as refused:
        deploy(app, f"{REGISTRY}/agents/bot:1.0.0", key=key)
    assert refused.value.slug == "request-in-progress"
    assert app.platform.count("create_version") == 0


def test_a_request_that_started_nothing_releases_its_key_for_the_retry(app, monkeypatch):
    key = IdempotencyKey(scope="s", key="k1", body_sha256="aaa")
    save_agent = app.store.save_agent

    def busy(state):
        raise Conflict(state.name)  # other deployments keep changing the agent: 409 busy

    monkeypatch.setattr(app.store, "save_agent", busy)
    with pytest.raises(Conflict):
        deploy(app, f"{REGISTRY}/agents/bot:1.0.0", key=key)
    monkeypatch.setattr(app.store, "save_agent", save_agent)
    assert app.store.keys == {} and app.store.records == {}
    retried = manual.deploy(app, request(f"{REGISTRY}/agents/bot:1.0.0"), requested_by=None, key=key)
    assert not retried.replayed and retried.deployment.status == "creating"
    assert app.platform.count("create_version") == 1


def test_a_request_that_recorded_its_deployment_keeps_its_key(app, monkeypatch):
    key = IdempotencyKey(scope="s", key="k1", body_sha256="aaa")
    monkeypatch.setattr(app.platform, "create_version", lambda *a: (_ for _ in ()).throw(RuntimeError("x")))
    with pytest.raises(RuntimeError):
        deploy(app, f"{REGISTRY}/agents/bot:1.0.0", key=key)
    [recorded] = app.store.records.values()
    assert deploy(app, f"{REGISTRY}/agents/bot:1.0.0", key=key).id == recorded.id


def test_a_refused_request_takes_no_key(app):
    key = IdempotencyKey(scope="s", key="k1", body_sha256="aaa")
    with pytest.raises(Refused):
        deploy(app, f"{REGISTRY}/agents/bot:1.0.0", agent="nobody", key=key)
    assert app.store.keys == {}


def test_when_foundry_does_not_answer_the_pending_record_is_the_answer(app):
    app.platform.create_error = PlatformError(
        code="http_503", message="down", status_code=503, retryable=True
    )
    key = IdempotencyKey(scope="s", key="k1", body_sha256="aaa")
    started = deploy(app, f"{REGISTRY}/agents/bot:1.0.0", key=key)
    assert started.status == "pending" and started.id in app.store.open
    assert deploy(app, f"{REGISTRY}/agents/bot:1.0.0", key=key).id == started.id


def test_rollback_moves_the_traffic_back_when_the_previous_version_still_serves(app):
    first = deploy(app, f"{REGISTRY}/agents/bot@{digest(1)}")
    settle(app, first)
    second = deploy(app, f"{REGISTRY}/agents/bot@{digest(2)}")
    settle(app, second)
    back = manual.rollback(app, RollbackRequest(agent="bot"), requested_by="ana", key=None).deployment
    assert (back.source, back.rollout, back.status, back.version) == ("rollback", "instant", "active", "1")
    assert (back.image, back.requested_by) == (first.image, "ana")
    assert back.reason == f"rollback to deployment {first.id} (version 1)"
    assert back.history[0].note == f"held {digest(2)}: pushes of it are skipped until the hold is released"
    assert app.platform.count("create_version") == 2
    assert app.platform.traffic["bot"] == rollout.all_to("1")
    assert app.store.get_agent("bot").active_id == back.id
    assert app.store.records[second.id].status == "superseded"
    assert [h.digest for h in app.store.get_agent("bot").holds] == [digest(2)]


def test_rollback_deploys_the_image_again_when_its_version_is_gone(app):
    first = deploy(app, f"{REGISTRY}/agents/bot@{digest(1)}")
    settle(app, first)
    settle(app, deploy(app, f"{REGISTRY}/agents/bot:1.1.0"))
    app.platform.set_status("bot", "1", "deleted")
    back = manual.rollback(app, RollbackRequest(agent="bot"), requested_by="ana", key=None).deployment
    assert (back.source, back.image, back.status, back.version) == ("rollback", first.image, "creating", "3")
    assert app.platform.count("create_version") == 3
    settle(app, back)
    assert app.store.get_agent("bot").active_id == back.id


def test_rollback_pins_the_digest_when_the_record_has_one(app):
    first = deploy(app, f"{REGISTRY}/agents/bot:1.0.0")
    app.store.records[first.id] = replace(app.store.records[first.id], digest=digest(7))
    settle(app, app.store.records[first.id])
    settle(app, deploy(app, f"{REGISTRY}/agents/bot:1.1.0"))
    app.platform.set_status("bot", "1", "deleted")
    back = manual.rollback(app, RollbackRequest(agent="bot"), requested_by=None, key=None).deployment
    assert back.image == f"{REGISTRY}/agents/bot@{digest(7)}" and back.tag == "1.0.0"


def test_a_verified_deployment_is_a_rollback_target(app):
    first = deploy(app, f"{REGISTRY}/agents/checked:1", agent="checked")
    settle_verified(app, first)
    second = deploy(app, f"{REGISTRY}/agents/checked:2", agent="checked")
    settle_verified(app, second)
    assert app.store.records[first.id].status == "superseded"
    back = manual.rollback(app, RollbackRequest(agent="checked"), requested_by=None, key=None).deployment
    assert (back.status, back.version, back.rollout) == ("active", "1", "instant")
    assert app.platform.traffic["checked"] == rollout.all_to("1")
    app.clock.advance(1)
    by_version = manual.rollback(app, RollbackRequest(agent="checked", to="2"), requested_by=None, key=None)
    assert (by_version.deployment.status, by_version.deployment.version) == ("active", "2")
    assert app.platform.count("create_version") == 2


def test_a_rollback_when_foundry_does_not_answer_writes_nothing(app):
    settle(app, deploy(app, f"{REGISTRY}/agents/bot:1.0.0"))
    settle(app, deploy(app, f"{REGISTRY}/agents/bot:1.1.0"))
    before = written(app)
    app.platform.get_error = PlatformError(code="http_503", message="down", status_code=503, retryable=True)
    with pytest.raises(PlatformError):
        manual.rollback(app, RollbackRequest(agent="bot"), requested_by=None, key=None)
    assert written(app) == before


def test_rollback_to_a_named_version_or_id(app):
    first = deploy(app, f"{REGISTRY}/agents/bot:1.0.0")
    settle(app, first)
    settle(app, deploy(app, f"{REGISTRY}/agents/bot:1.1.0"))
    settle(app, deploy(app, f"{REGISTRY}/agents/bot:1.2.0"))
    by_version = manual.rollback(app, RollbackRequest(agent="bot", to="1"), requested_by=None, key=None)
    by_id = manual.rollback(app, RollbackRequest(agent="bot", to=first.id), requested_by=None, key=None)
    assert by_version.deployment.image == by_id.deployment.image == first.image


@pytest.mark.parametrize("to", [None, "9", "99999999999990000000"])
def test_rollback_with_nothing_to_go_back_to_writes_nothing(app, to):
    failed = deploy(app, f"{REGISTRY}/agents/bot:1.0.0")
    settle(app, failed, "failed")
    before = written(app)
    with pytest.raises(Refused) as refused:
        manual.rollback(app, RollbackRequest(agent="bot", to=to), requested_by=None, key=None)
    assert refused.value.slug == ("nothing-to-roll-back-to" if to is None else "not-found")
    assert written(app) == before


def test_rollback_to_a_deployment_that_never_ran_is_refused(app):
    failed = deploy(app, f"{REGISTRY}/agents/bot:1.0.0")
    settle(app, failed, "failed")
    with pytest.raises(Refused) as refused:
        manual.rollback(app, RollbackRequest(agent="bot", to=failed.id), requested_by=None, key=None)
    assert refused.value.slug == "nothing-to-roll-back-to"
    assert "ended failed" in refused.value.detail


def test_agents_show_their_active_deployment_and_no_environment_values(app):
    active = deploy(app, f"{REGISTRY}/agents/bot:1.0.0")
    settle(app, active)
    overview = {a.config.name: a.to_json() for a in manual.agents(app)}
    assert overview["bot"]["active"]["id"] == active.id
    assert overview["bot"]["environment_variables"] == ["LOG_LEVEL", "MODEL"]
    assert overview["bot"]["tags"] == "semver:>=1.0.0" and overview["pinned"]["tags"] == "*"
    assert overview["pinned"]["active"] is None
    assert "gpt-5-mini" not in str(overview)


def test_the_deployment_id_is_known_before_anything_is_written(app, monkeypatch):
    heard, inserted = [], []
    add = app.store.add
    monkeypatch.setattr(app.store, "add", lambda record: inserted.append(record.reason) or add(record))

    def on_started(deployment_id):
        heard.append((deployment_id, written(app)))

    plan = manual.plan_deploy(app, request(f"{REGISTRY}/agents/bot:1.0.0", reason="why"))
    started = manual.start(app, plan, requested_by=None, on_started=on_started)
    assert heard == [(started.id, (0, 0, 0, 0))]
    assert inserted == ["why"]  # the reason is on the record's first write
