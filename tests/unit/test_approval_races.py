"""Approvals racing each other and newer pushes, on the fakes: every decision and every supersede
is one conditional update, so exactly one of racing changes wins and no deployment is left
waiting beside a newer one."""

from dataclasses import replace

import pytest

from deployer.deploy import approval_decisions
from deployer.deploy.approval_decisions import NotAwaitingApproval
from deployer.domain.approval import Caller
from deployer.domain.errors import Conflict
from tests.unit.builders import APPROVAL_CONFIG, context_for, push

KEY = Caller(name="function key")


@pytest.fixture
def ctx():
    return context_for(APPROVAL_CONFIG)


def test_an_approval_that_lost_the_race_to_a_supersede_is_refused_and_creates_nothing(ctx):
    older = push(ctx, "v1", 1)
    real_update = ctx.store.update
    raced = []

    def supersede_first(deployment):
        if deployment.id == older.id and not raced:
            raced.append(True)
            ctx.clock.advance(1)
            push(ctx, "v2", 2)  # its supersede lands between the approval's read and write
        return real_update(deployment)

    ctx.store.update = supersede_first
    with pytest.raises(NotAwaitingApproval, match="superseded"):
        approval_decisions.approve(ctx, older.id, KEY)

    assert ctx.store.records[older.id].status == "superseded"
    assert ctx.platform.count("create_version") == 0


def test_a_reject_racing_an_approval_loses_when_the_approval_wrote_first(ctx):
    waiting = push(ctx, "v1", 1)
    stale = ctx.store.records[waiting.id]
    approval_decisions.approve(ctx, waiting.id, KEY)

    with pytest.raises(Conflict):
        ctx.store.update(replace(stale, status="rejected"))
    with pytest.raises(NotAwaitingApproval, match="approved by function key"):
        approval_decisions.reject(ctx, waiting.id, KEY, "too late")


def test_of_two_concurrent_pushes_each_supersedes_the_one_the_agent_row_named_when_it_changed_it(ctx):
    start = ctx.clock.now()
    first = push(ctx, "v1", 1)
    real_save = ctx.store.save_agent
    second = []

    def second_push_lands_first(state):
        # The third push read the row naming the first; the second, pushed just before it,
        # changes the row between that read and the third's conditional write.
        if state.awaiting_id not in (None, first.id) and not second:
            ctx.clock.t = start + 1
            second.append(push(ctx, "v2", 2))
            ctx.clock.t = start + 2
        return real_save(state)

    ctx.store.save_agent = second_push_lands_first
    ctx.clock.t = start + 2
    third = push(ctx, "v3", 3)

    statuses = {r.id: ctx.store.records[r.id].status for r in (first, second[0], third)}
    assert statuses == {first.id: "superseded", second[0].id: "superseded", third.id: "awaiting_approval"}
    assert ctx.store.get_agent("vbot").awaiting_id == third.id
    assert [r.id for r in ctx.store.records.values() if r.status == "awaiting_approval"] == [third.id]
