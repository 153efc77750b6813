"""An approval does not start what a pause or a hold keeps from deploying: the agent paused, or
the pushed digest held, after the push was asked about. The approval is refused (409
``paused-or-held``) and the deployment keeps waiting: approved after a resume or release,
rejected, or expired."""

from dataclasses import replace

import pytest

from deployer.deploy import approval_decisions
from deployer.domain.approval import Caller
from deployer.domain.errors import Refused
from deployer.domain.model import AgentState
from deployer.domain.rollout import deployment_blocked
from deployer.entrypoints.http import routes as http_api
from deployer.rollout import holds
from tests.unit.builders import APPROVAL_CONFIG, context_for, digest_for, push, tick
from tests.unit.http_helpers import FakeRoot, FakeSettings, doc, post

KEY = Caller(name="function key")


@pytest.fixture
def ctx():
    return context_for(APPROVAL_CONFIG)


def refused_approval(ctx, deployment_id):
    with pytest.raises(Refused) as refused:
        approval_decisions.approve(ctx, deployment_id, KEY)
    return refused.value


def test_approving_a_push_whose_agent_was_paused_meanwhile_is_refused_and_it_keeps_waiting(ctx):
    waiting = push(ctx, "v1", 1)
    holds.pause(ctx, "vbot", by="ops@contoso.com")

    refused = refused_approval(ctx, waiting.id)

    assert refused.slug == "paused-or-held" and refused.extra["reason"] == "paused"
    assert "vbot is paused" in refused.detail and "resume" in refused.detail
    stored = ctx.store.records[waiting.id]
    assert stored.status == "awaiting_approval" and stored.approval.waiting
    assert waiting.id in ctx.store.open and ctx.platform.count("create_version") == 0


def test_after_a_resume_the_same_approval_starts_the_deployment(ctx):
    waiting = push(ctx, "v1", 1)
    holds.pause(ctx, "vbot")
    refused_approval(ctx, waiting.id)
    holds.resume(ctx, "vbot")

    approved = approval_decisions.approve(ctx, waiting.id, KEY)

    assert approved.status == "creating" and ctx.platform.count("create_version") == 1


def test_approving_a_push_whose_digest_is_held_is_refused_and_it_can_still_be_rejected(ctx):
    waiting = push(ctx, "v1", 1)
    holds.hold(ctx, "vbot", digest_for(1), reason="rollback")

    refused = refused_approval(ctx, waiting.id)
    rejected = approval_decisions.reject(ctx, waiting.id, KEY, "held")

    assert refused.slug == "paused-or-held" and refused.extra["reason"] == "held"
    assert digest_for(1) in refused.detail and "unhold" in refused.detail
    assert rejected.status == "rejected" and ctx.platform.count("create_version") == 0


def test_a_hold_on_another_digest_does_not_keep_an_approval_from_starting_it(ctx):
    waiting = push(ctx, "v1", 1)
    holds.hold(ctx, "vbot", digest_for(2), reason="rollback")

    assert approval_decisions.approve(ctx, waiting.id, KEY).status == "creating"


def test_a_paused_agents_waiting_deployment_still_expires(ctx):
    waiting = push(ctx, "v1", 1)
    holds.pause(ctx, "vbot")

    tick(ctx, 3601)

    expired = ctx.store.records[waiting.id]
    assert expired.status == "rejected" and expired.reason == "approval_expired"


def test_only_what_nobody_asked_for_is_kept_back_by_a_pause_or_a_hold(ctx):
    record = ctx.store.records[push(ctx, "v1", 1).id]
    paused = AgentState(name="vbot", paused=True)

    assert deployment_blocked(paused, record) == "paused"
    assert deployment_blocked(paused, replace(record, source="promotion")) == "paused"  # automatic
    assert deployment_blocked(paused, replace(record, source="promotion", requested_by="ana")) is None
    assert deployment_blocked(paused, replace(record, source="manual", requested_by="ana")) is None
    assert deployment_blocked(AgentState(name="vbot"), record) is None


def test_the_api_answers_409_paused_or_held_and_the_detail_says_what_to_do(ctx, monkeypatch):
    monkeypatch.setattr(http_api, "root", lambda: FakeRoot(ctx, FakeSettings()))
    waiting = push(ctx, "v1", 1)
    holds.pause(ctx, "vbot")

    response = post(http_api.approve_deployment, None, raw=b"", route_params={"id": waiting.id})

    problem = doc(response)
    assert response.status_code == 409 and problem["type"].endswith(":paused-or-held")
    assert "resume" in problem["detail"] and problem["reason"] == "paused"
    assert ctx.store.records[waiting.id].status == "awaiting_approval"
