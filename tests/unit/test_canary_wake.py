"""A person's change to a canary (promote, a step's approval decided) wakes it through its
open-work entry conditionally: a tick holding the entry (its lease) keeps it, and the change is
acted on by that tick or, when its lease ends, the next one, never by two at once."""

from dataclasses import replace

import pytest

from deployer.context import Context
from deployer.deploy import approval_decisions, canary_control
from deployer.deploy.poll import LEASE_S
from deployer.domain.approval import Caller
from deployer.domain.errors import Conflict
from tests.unit.builders import (
    APPROVAL_CONFIG,
    canary_context,
    context_for,
    live,
    push,
    run,
    serving,
    stable_then_canary,
)

KEY = Caller(name="function key")


@pytest.fixture
def ctx() -> Context:
    return canary_context()


def lease_as_a_tick_does(ctx, deployment_id):
    """The entry as a tick that took it holds it: due when its lease ends, a new ETag."""
    entry = ctx.store.open[deployment_id]
    return ctx.store.schedule(replace(entry, due=ctx.clock.now() + LEASE_S))


def test_a_promote_while_a_tick_holds_the_canary_leaves_the_step_to_a_tick(ctx):
    second = stable_then_canary(ctx)
    held = lease_as_a_tick_does(ctx, second.id)
    traffic_writes = ctx.platform.count("set_traffic")

    answered = canary_control.promote(ctx, second.id, by="ops")

    assert answered.status == "canary" and answered.canary.promote
    assert ctx.platform.count("set_traffic") == traffic_writes  # nothing moved beside the tick
    assert ctx.store.open[second.id].due == held.due
    ctx.clock.advance(LEASE_S)
    run(ctx, 1)
    assert ctx.store.records[second.id].status == "verified" and serving(ctx) == [("2", 100)]


def test_the_holding_ticks_stale_reschedule_cannot_put_the_promotion_off_to_the_next_step(ctx):
    second = stable_then_canary(ctx)
    held = lease_as_a_tick_does(ctx, second.id)  # the tick read the record before the promote

    canary_control.promote(ctx, second.id, by="ops")

    with pytest.raises(Conflict):  # its "wait until the next step" write
        ctx.store.schedule(replace(held, due=ctx.store.records[second.id].canary.next_at + 600))
    assert ctx.store.open[second.id].due == held.due  # looked at again when its lease ends


def test_a_promote_of_a_canary_waiting_for_its_next_step_takes_the_step_at_once(ctx):
    second = stable_then_canary(ctx)
    assert ctx.store.open[second.id].due == ctx.store.records[second.id].canary.next_at

    done = canary_control.promote(ctx, second.id, by="ops")

    assert done.status == "verified" and serving(ctx) == [("2", 100)]


def test_approving_a_canary_step_while_a_tick_holds_it_leaves_the_step_to_a_tick():
    ctx = context_for(APPROVAL_CONFIG)
    for tag, n in (("v1", 1), ("v2", 2)):
        waiting = push(ctx, tag, n, agent="gated")
        second = live(ctx, approval_decisions.approve(ctx, waiting.id, KEY), agent="gated")
    run(ctx, 12)  # the 100% step waits for approval
    held = lease_as_a_tick_does(ctx, second.id)

    answered = approval_decisions.approve(ctx, second.id, KEY)

    assert answered.status == "canary" and serving(ctx, "gated") == [("2", 10), ("1", 90)]
    assert ctx.store.open[second.id].due == held.due
    ctx.clock.advance(LEASE_S)
    run(ctx, 1)
    assert ctx.store.records[second.id].status == "verified" and serving(ctx, "gated") == [("2", 100)]
