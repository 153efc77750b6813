"""Approvals on hand-written fakes: a deployment waits in awaiting_approval with nothing created or
moved; approve starts it, reject and expiry end it rejected, a newer push supersedes an older one
still waiting; every decision is conditional and exactly one of racing decisions wins; a canary
step configured with {approve: true} waits for a person."""

from dataclasses import replace

import pytest

from deployer.config.parser import ConfigError, parse_config
from deployer.deploy import approval_decisions
from deployer.deploy.approval_decisions import NotAwaitingApproval
from deployer.domain.approval import Caller, may_decide
from deployer.domain.errors import Refused
from tests.unit.builders import (
    APPROVAL_CONFIG,
    CANARY,
    PROMOTION_CONFIG,
    context_for,
    live,
    push,
    run,
    serving,
    tick,
)

KEY = Caller(name="function key")
DAY = 86_400.0


@pytest.fixture
def ctx():
    return context_for(APPROVAL_CONFIG)


def events(ctx, record):
    return sorted(e.event_type for e in ctx.store.notifications.values() if e.deployment_id == record.id)


def test_a_push_that_needs_approval_waits_with_no_version_and_no_traffic_change_and_is_notified(ctx):
    waiting = push(ctx, "v1", 1)
    run(ctx, 3)

    stored = ctx.store.records[waiting.id]
    assert stored.status == "awaiting_approval" and stored.version is None
    assert ctx.platform.count("create_version") == 0 and ctx.platform.count("set_traffic") == 0
    assert stored.approval.expires_at == pytest.approx(ctx.clock.now() - 15 + 3600)
    assert ctx.store.open[waiting.id].due == stored.approval.expires_at
    assert events(ctx, waiting) == ["deployment.awaiting_approval"]


def test_approving_creates_the_version_and_records_who_and_when(ctx):
    waiting = push(ctx, "v1", 1)
    ctx.clock.advance(600)

    approved = approval_decisions.approve(ctx, waiting.id, KEY)

    assert approved.status == "creating" and ctx.platform.count("create_version") == 1
    assert approved.approval.decision == "approved" and approved.approval.by == "function key"
    statuses = [h.status for h in approved.history]
    assert statuses == ["awaiting_approval", "approved", "pending", "creating"]
    assert approved.began_at == approved.approval.at != approved.created_at
    ctx.platform.set_status("vbot", "1", "active")
    run(ctx, 2)
    assert ctx.store.records[waiting.id].status == "active"


def test_approving_twice_answers_the_record_and_creates_one_version(ctx):
    waiting = push(ctx, "v1", 1)
    first = approval_decisions.approve(ctx, waiting.id, KEY)
    again = approval_decisions.approve(ctx, waiting.id, KEY)

    assert again.id == first.id and again.status == "creating"
    assert ctx.platform.count("create_version") == 1


def test_rejecting_ends_it_rejected_with_the_reason_and_nothing_created(ctx):
    waiting = push(ctx, "v1", 1)

    rejected = approval_decisions.reject(ctx, waiting.id, KEY, "<b>not on a Friday</b>")
    with pytest.raises(NotAwaitingApproval, match="rejected by function key"):
        approval_decisions.approve(ctx, waiting.id, KEY)

    assert rejected.status == "rejected" and rejected.reason == "approval_rejected"
    assert rejected.approval.comment == "<b>not on a Friday</b>"
    assert rejected.history[-1].note == "rejected by function key: <b>not on a Friday</b>"
    assert waiting.id not in ctx.store.open and ctx.platform.count("create_version") == 0
    assert events(ctx, waiting) == ["deployment.awaiting_approval", "deployment.rejected"]


def test_an_expired_request_ends_rejected_approval_expired_by_the_poll_and_cannot_be_approved(ctx):
    waiting = push(ctx, "v1", 1)
    tick(ctx, 3599)
    assert ctx.store.records[waiting.id].status == "awaiting_approval"

    tick(ctx, 2)
    expired = ctx.store.records[waiting.id]

    assert expired.status == "rejected" and expired.reason == "approval_expired"
    assert expired.approval.decision == "expired" and expired.approval.by is None
    assert waiting.id not in ctx.store.open
    with pytest.raises(NotAwaitingApproval):
        approval_decisions.approve(ctx, waiting.id, KEY)


def test_a_request_past_its_expiry_is_not_approved_even_before_the_poll_ends_it(ctx):
    waiting = push(ctx, "v1", 1)
    ctx.clock.advance(3601)

    with pytest.raises(NotAwaitingApproval, match="expired"):
        approval_decisions.approve(ctx, waiting.id, KEY)
    assert ctx.platform.count("create_version") == 0


def test_a_newer_push_supersedes_the_older_one_still_waiting(ctx):
    older = push(ctx, "v1", 1)
    ctx.clock.advance(1)
    newer = push(ctx, "v2", 2)

    stored_older = ctx.store.records[older.id]
    assert stored_older.status == "superseded" and stored_older.version is None
    assert ctx.store.records[newer.id].status == "awaiting_approval"
    assert older.id not in ctx.store.open
    with pytest.raises(NotAwaitingApproval, match="superseded"):
        approval_decisions.approve(ctx, older.id, KEY)


def test_a_push_delivered_after_a_newer_one_is_the_one_superseded(ctx):
    start = ctx.clock.now()
    first = push(ctx, "v1", 1)
    ctx.clock.t = start + 2
    newest = push(ctx, "v3", 3)
    ctx.clock.t = start + 1  # v2 was pushed before v3, its event arrives after
    late = push(ctx, "v2", 2)

    statuses = {r.id: ctx.store.records[r.id].status for r in (first, newest, late)}
    assert statuses == {first.id: "superseded", newest.id: "awaiting_approval", late.id: "superseded"}
    assert ctx.store.get_agent("vbot").awaiting_id == newest.id


def test_a_redelivered_push_finds_its_waiting_record_and_supersedes_nothing(ctx):
    first = push(ctx, "v1", 1, event_id="evt-1")
    again = push(ctx, "v1", 1, event_id="evt-1")

    assert again.id == first.id and ctx.store.records[first.id].status == "awaiting_approval"


def test_approvers_are_principal_names_or_app_roles_and_otherwise_the_write_role():
    signed = Caller(
        name="Alice@Contoso.com", roles=frozenset({"Deployer.Write"}), signed_in=True, may_write=True
    )
    reader = Caller(
        name="bob@contoso.com", roles=frozenset({"Release.Managers"}), signed_in=True, may_write=False
    )

    assert may_decide(("alice@contoso.com",), signed) and not may_decide(("alice@contoso.com",), reader)
    assert may_decide(("release.managers",), reader) and may_decide((), signed) and not may_decide((), reader)
    assert may_decide(("someone-else",), Caller(name="function key"))  # no identity: the key is the gate


def test_a_caller_not_among_the_approvers_is_refused_with_who_may(ctx):
    waiting = push(ctx, "v1", 1)
    ctx.store.records[waiting.id] = replace(
        ctx.store.records[waiting.id],
        approval=replace(ctx.store.records[waiting.id].approval, approvers=("release-managers",)),
    )
    outsider = Caller(name="eve@contoso.com", roles=frozenset({"Deployer.Write"}), signed_in=True)

    with pytest.raises(Refused) as refused:
        approval_decisions.approve(ctx, waiting.id, outsider)

    assert refused.value.slug == "forbidden" and "release-managers" in refused.value.detail
    assert ctx.store.records[waiting.id].status == "awaiting_approval"


def test_a_rollback_never_waits_for_approval(ctx):
    from deployer.deploy.approval import policy_for

    record = replace(push(ctx, "v1", 1), source="rollback")
    assert policy_for(ctx.config.configured("vbot"), record) is None


def test_a_canary_step_with_approve_waits_at_its_share_until_approved(ctx):
    first = live(ctx, approved_push(ctx, "v1", 1, agent="gated"), agent="gated")
    assert first.status == "verified"
    second = live(ctx, approved_push(ctx, "v2", 2, agent="gated"), agent="gated")
    assert second.status == "canary" and serving(ctx, "gated") == [("2", 10), ("1", 90)]

    run(ctx, 12)  # well past the step interval: the 100% step waits
    waiting = ctx.store.records[second.id]
    assert waiting.approval.step == 1 and waiting.approval.waiting
    assert serving(ctx, "gated") == [("2", 10), ("1", 90)]
    assert "deployment.awaiting_approval" in events(ctx, second)

    manager = Caller(
        name="m@contoso.com", roles=frozenset({"release-managers"}), signed_in=True, may_write=False
    )
    done = approval_decisions.approve(ctx, second.id, manager)

    assert done.status == "verified" and serving(ctx, "gated") == [("2", 100)]
    assert [h.status for h in done.history].count("approved") == 2


def test_a_rejected_canary_step_rolls_the_canary_back_without_holding_the_digest(ctx):
    live(ctx, approved_push(ctx, "v1", 1, agent="gated"), agent="gated")
    second = live(ctx, approved_push(ctx, "v2", 2, agent="gated"), agent="gated")
    run(ctx, 12)

    done = approval_decisions.reject(ctx, second.id, KEY, "error rate")

    assert done.status == "rolled_back" and done.reason == "approval_rejected"
    assert serving(ctx, "gated") == [("1", 100)] and ctx.store.get_agent("gated").holds == ()


def test_steps_take_approve_only_before_a_step():
    for steps in (
        [10, 100, {"approve": True}],
        [{"approve": True}, {"approve": True}, 100],
        [10, {"approve": 1}, 100],
    ):
        config = {
            **APPROVAL_CONFIG,
            "agents": [{**APPROVAL_CONFIG["agents"][1], "rollout": {**CANARY, "steps": steps}}],
        }
        with pytest.raises(ConfigError, match="steps"):
            parse_config(config, {}, resolver=lambda host: ["93.184.216.34"])


def test_a_promotion_waits_for_the_approval_its_promote_to_sets():
    config = {
        **PROMOTION_CONFIG,
        "agents": [
            {
                **PROMOTION_CONFIG["agents"][0],
                "promote_to": {**PROMOTION_CONFIG["agents"][0]["promote_to"], "approval": {}},
            },
            PROMOTION_CONFIG["agents"][1],
        ],
    }
    ctx = context_for(config, "https://example.services.ai.azure.com/api/projects/staging")
    source = live(ctx, push(ctx, "v1", 1))
    run(ctx, 2)

    promoted = ctx.store.records[ctx.store.records[source.id].promoted_to]
    assert promoted.status == "awaiting_approval" and promoted.source == "promotion"
    assert ctx.platform.count("create_version") == 1

    started = approval_decisions.approve(ctx, promoted.id, KEY)
    assert started.status == "creating" and started.project_endpoint.endswith("/prod")


def approved_push(ctx, tag, n, agent):
    waiting = push(ctx, tag, n, agent=agent)
    return approval_decisions.approve(ctx, waiting.id, KEY)
