"""The image check before create_version: a missing image or one without linux/amd64 fails at
once with no version; the resolved digest is recorded (and deployed with pin: digest); a
registry that cannot be reached leaves the deployment pending for the poll, never unchecked."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from deployer.config.parser import ConfigError, parse_config
from deployer.deploy import approval_decisions, manual
from deployer.deploy.poll import poll_once
from deployer.deploy.requests import DeployRequest, RollbackRequest
from deployer.deploy.start import handle_event
from deployer.domain.approval import Caller
from deployer.domain.clock import iso
from deployer.domain.errors import PlatformError
from deployer.domain.imageref import ImageRef
from deployer.domain.transitions import PENDING_GRACE_S
from tests.unit import conftest
from tests.unit.builders import pushed
from tests.unit.fake_registry import FakeRegistry, unreachable

REGISTRY = conftest.REGISTRY
CONFIG = {
    **conftest.CONFIG,
    "agents": [
        {"name": "bot", "repository": "agents/bot", "tags": "*"},
        {"name": "pinned", "repository": "agents/pinned", "pin": "digest"},
        {"name": "unchecked", "repository": "agents/unchecked", "registry_check": False},
        {"name": "gated", "repository": "agents/gated", "approval": {"required": True}},
    ],
}


@pytest.fixture
def app(ctx):
    return replace(ctx, config=parse_config(CONFIG, {}), registry=FakeRegistry())


def push(app, image: str, *, agent_repo: str = "agents/bot"):
    ref = ImageRef.parse(image)
    digest = app.registry.images.get((ref.registry, ref.repository, ref.tag))
    event = pushed(ref.tag, repository=agent_repo, digest=digest.digest if digest else "sha256:" + "e" * 64)
    [record] = handle_event(app, event)
    return record


def deploy(app, image: str, agent: str = "bot"):
    request = DeployRequest(agent=agent, image=ImageRef.parse(image))
    return manual.deploy(app, request, requested_by="ana", key=None).deployment


def settle(app, record) -> None:
    app.platform.set_status(record.agent, record.version, "active")
    app.clock.advance(3)
    poll_once(app, concurrency=1, budget_s=20)


def test_a_push_of_an_image_not_in_the_registry_fails_at_once_and_creates_no_version(app):
    failed = push(app, f"{REGISTRY}/agents/bot:v1")
    assert (failed.status, failed.error.code) == ("failed", "image_not_found")
    assert f"image {REGISTRY}/agents/bot:v1 is not in registry {REGISTRY}" in failed.error.message
    assert [h.status for h in failed.history] == ["pending", "image_checked", "failed"]
    assert failed.image_check.result == "image_not_found"
    assert app.platform.count("create_version") == 0
    assert not app.store.open  # nothing left for the poll


def test_a_push_of_an_image_in_the_registry_records_the_check_and_creates_the_version(app):
    digest = app.registry.push(f"{REGISTRY}/agents/bot:v1")
    record = push(app, f"{REGISTRY}/agents/bot:v1")
    assert (record.status, record.digest, record.image) == ("creating", digest, f"{REGISTRY}/agents/bot:v1")
    assert [h.status for h in record.history] == ["pending", "image_checked", "creating"]
    assert (record.image_check.result, record.image_check.reference) == ("found", digest)
    assert app.registry.lookups == [(REGISTRY, "agents/bot", digest)]  # the pushed digest, one lookup
    assert app.store.records[record.id].image_check == record.image_check


def test_a_multi_arch_index_without_amd64_is_refused(app):
    app.registry.push(f"{REGISTRY}/agents/bot:arm", platforms=("linux/arm64", "linux/arm/v7"))
    failed = push(app, f"{REGISTRY}/agents/bot:arm")
    assert (failed.status, failed.error.code) == ("failed", "no_amd64_image")
    assert "linux/arm64, linux/arm/v7" in failed.error.message
    assert failed.image_check.platforms == ("linux/arm64", "linux/arm/v7")
    assert app.platform.count("create_version") == 0


def test_a_multi_arch_index_with_amd64_deploys(app):
    app.registry.push(f"{REGISTRY}/agents/bot:multi", platforms=("linux/arm64", "linux/amd64"))
    assert push(app, f"{REGISTRY}/agents/bot:multi").status == "creating"


def test_a_single_image_reported_for_another_platform_is_refused(app):
    app.registry.push(f"{REGISTRY}/agents/bot:arm", platforms=("linux/arm64",))
    assert push(app, f"{REGISTRY}/agents/bot:arm").error.code == "no_amd64_image"


def test_a_manual_deploy_by_tag_records_the_digest_the_tag_resolves_to(app):
    digest = app.registry.push(f"{REGISTRY}/agents/bot:1.0.0")
    started = deploy(app, f"{REGISTRY}/agents/bot:1.0.0")
    assert (started.status, started.tag, started.digest) == ("creating", "1.0.0", digest)
    assert started.image == f"{REGISTRY}/agents/bot:1.0.0"
    assert app.registry.lookups == [(REGISTRY, "agents/bot", "1.0.0")]


def test_pin_digest_deploys_a_tag_request_by_its_resolved_digest(app):
    digest = app.registry.push(f"{REGISTRY}/agents/pinned:1.0.0")
    started = deploy(app, f"{REGISTRY}/agents/pinned:1.0.0", agent="pinned")
    assert started.image == f"{REGISTRY}/agents/pinned@{digest}"
    assert app.platform.versions["pinned"][0].spec.image == f"{REGISTRY}/agents/pinned@{digest}"


def test_a_manual_deploy_of_a_missing_tag_fails_without_a_version(app):
    failed = deploy(app, f"{REGISTRY}/agents/bot:nope")
    assert (failed.status, failed.error.code, failed.digest) == ("failed", "image_not_found", None)
    assert app.platform.count("create_version") == 0


def test_rolling_back_from_a_manual_deploy_by_tag_holds_its_resolved_digest(app):
    app.registry.push(f"{REGISTRY}/agents/bot:1.0.0")
    second = app.registry.push(f"{REGISTRY}/agents/bot:2.0.0")
    settle(app, deploy(app, f"{REGISTRY}/agents/bot:1.0.0"))
    settle(app, deploy(app, f"{REGISTRY}/agents/bot:2.0.0"))
    back = manual.rollback(app, RollbackRequest(agent="bot"), requested_by="ana", key=None).deployment
    assert [h.digest for h in app.store.get_agent("bot").holds] == [second]
    assert back.history[0].note.startswith(f"held {second}")
    again = push(app, f"{REGISTRY}/agents/bot:2.0.0")
    assert (again.status, again.reason) == ("skipped", "held")


def test_a_rollback_says_nothing_was_held_when_the_serving_digest_is_unknown(app):
    app.registry.push(f"{REGISTRY}/agents/unchecked:1.0.0")
    first = deploy(app, f"{REGISTRY}/agents/unchecked:1.0.0", agent="unchecked")
    settle(app, first)
    settle(app, deploy(app, f"{REGISTRY}/agents/unchecked:2.0.0", agent="unchecked"))
    back = manual.rollback(app, RollbackRequest(agent="unchecked"), requested_by="ana", key=None).deployment
    assert back.history[0].note.startswith("nothing held")
    assert app.store.get_agent("unchecked").holds == ()


def test_an_unreachable_registry_leaves_the_push_pending_and_the_poll_deploys_it_later(app):
    digest = app.registry.push(f"{REGISTRY}/agents/bot:v1")
    app.registry.failures = [unreachable()]
    with pytest.raises(PlatformError):  # Event Grid redelivers; the record is already pending
        push(app, f"{REGISTRY}/agents/bot:v1")
    [record] = app.store.records.values()
    assert (record.status, record.image_check) == ("pending", None)
    assert app.platform.count("create_version") == 0
    app.clock.advance(PENDING_GRACE_S + 1)
    poll_once(app, concurrency=1, budget_s=20)
    done = app.store.records[record.id]
    assert (done.status, done.digest) == ("creating", digest)
    assert app.platform.count("create_version") == 1 and len(app.registry.lookups) == 2


def test_an_unreachable_registry_lets_the_next_delivery_retry_at_once(app):
    event = pushed("v1", repository="agents/bot", digest=app.registry.push(f"{REGISTRY}/agents/bot:v1"))
    app.registry.failures = [unreachable()]
    with pytest.raises(PlatformError):
        handle_event(app, event)
    [record] = app.store.records.values()
    # Nothing was sent to Foundry, so no create call of ours can still be running.
    assert record.reconcile_after == iso(app.clock.now())
    [again] = handle_event(app, event)  # Event Grid's redelivery
    assert (again.id, again.status) == (record.id, "creating")
    assert app.platform.count("create_version") == 1


def test_a_poll_that_finds_the_registry_still_down_retries_later(app):
    app.registry.push(f"{REGISTRY}/agents/bot:v1")
    app.registry.failures = [unreachable(), unreachable()]
    with pytest.raises(PlatformError):
        push(app, f"{REGISTRY}/agents/bot:v1")
    app.clock.advance(PENDING_GRACE_S + 1)
    poll_once(app, concurrency=1, budget_s=20)
    [record] = app.store.records.values()
    assert record.status == "pending" and app.platform.count("create_version") == 0
    app.clock.advance(60)
    poll_once(app, concurrency=1, budget_s=20)
    assert app.store.records[record.id].status == "creating"


def test_an_agent_with_registry_check_off_is_not_looked_up(app):
    record = push(app, f"{REGISTRY}/agents/unchecked:v1", agent_repo="agents/unchecked")
    assert (record.status, record.image_check) == ("creating", None)
    assert app.registry.lookups == []


def test_registry_check_is_set_globally_or_per_agent_and_must_be_a_boolean():
    config = parse_config(
        {
            **conftest.CONFIG,
            "registry_check": False,
            "agents": [
                {"name": "a", "repository": "agents/a"},
                {"name": "b", "repository": "agents/b", "registry_check": True},
            ],
        },
        {},
    )
    assert [a.registry_check for a in config.agents] == [False, True]
    assert parse_config(CONFIG, {}).agent("bot").registry_check is True
    with pytest.raises(ConfigError) as refused:
        agent = {"name": "a", "repository": "agents/a", "registry_check": "yes"}
        parse_config({**CONFIG, "agents": [agent]}, {})
    assert refused.value.problems == ["agents[0].registry_check: must be true or false"]


def test_a_push_that_needs_approval_of_a_missing_image_fails_at_once_without_asking_anyone(app):
    failed = push(app, f"{REGISTRY}/agents/gated:v1", agent_repo="agents/gated")
    assert (failed.status, failed.error.code) == ("failed", "image_not_found")
    assert [h.status for h in failed.history] == ["image_checked", "failed"]
    assert failed.approval is None and app.platform.count("create_version") == 0
    sent = {e.event_type for e in app.store.notifications.values() if e.deployment_id == failed.id}
    assert "deployment.awaiting_approval" not in sent
    assert not app.store.open


def test_a_push_that_needs_approval_waits_with_its_image_checked_and_is_checked_again_when_approved(app):
    digest = app.registry.push(f"{REGISTRY}/agents/gated:v1")
    waiting = push(app, f"{REGISTRY}/agents/gated:v1", agent_repo="agents/gated")
    assert waiting.status == "awaiting_approval" and waiting.image_check.digest == digest
    approved = approval_decisions.approve(app, waiting.id, Caller(name="function key"))
    assert approved.status == "creating" and len(app.registry.lookups) == 2


def test_a_registry_down_when_a_push_asks_for_approval_does_not_hold_up_the_request(app):
    app.registry.push(f"{REGISTRY}/agents/gated:v1")
    app.registry.failures = [unreachable()]
    waiting = push(app, f"{REGISTRY}/agents/gated:v1", agent_repo="agents/gated")
    assert (waiting.status, waiting.image_check) == ("awaiting_approval", None)
    approved = approval_decisions.approve(app, waiting.id, Caller(name="function key"))
    assert approved.status == "creating" and approved.image_check.result != "image_not_found"


def test_a_push_looks_its_image_up_while_its_pending_record_is_written(app):
    app.registry.push(f"{REGISTRY}/agents/bot:1.0.0")
    looking, seen_by_the_write = threading.Event(), []
    inspect, begin = app.registry.inspect, app.store.begin

    def slow_lookup(*args):
        looking.set()
        return inspect(*args)

    def write(*args, **kwargs):  # waits for the lookup to be under way: it is, unless made after
        seen_by_the_write.append(looking.wait(timeout=5))
        return begin(*args, **kwargs)

    app.registry.inspect, app.store.begin = slow_lookup, write
    record = push(app, f"{REGISTRY}/agents/bot:1.0.0")
    assert seen_by_the_write == [True] and record.status == "creating"
    assert len(app.registry.lookups) == 1 and record.history[1].status == "image_checked"
