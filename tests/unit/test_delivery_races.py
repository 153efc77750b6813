"""Real delivery against the use cases: duplicate deliveries, a process that dies between two
writes, redeliveries after a failed ``create_version``, Foundry refusing the deployer for a
while. The interleavings a live test can only hope to hit are made here on purpose."""

import contextlib

import pytest

from deployer.deploy import create
from deployer.deploy.poll import poll_once
from deployer.deploy.start import handle_event
from deployer.domain.clock import iso
from deployer.domain.errors import Conflict, PlatformError
from deployer.domain.transitions import AUTH_RETRY_S, FIRST_DELAY_S, PENDING_GRACE_S, SERVER_FINISH_S
from tests.unit.builders import pushed
from tests.unit.conftest import make_ctx


class Killed(BaseException):
    """The process dies here (no handler catches it)."""


def bot(ctx):
    [record] = [d for d in ctx.store.records.values() if d.agent == "support-bot"]
    return record


def refused(status, code="Forbidden"):
    return PlatformError(code=code, message="refused", status_code=status, retryable=status in (429, 503))


def first_call_creates_then(ctx, error):
    """Deliver the push; its ``create_version`` call makes the version, then raises ``error``."""
    original = ctx.platform.create_version

    def create_then_fail(*args):
        original(*args)
        raise error

    ctx.platform.create_version = create_then_fail
    try:
        handle_event(ctx, pushed("1.0.0"))
    finally:
        ctx.platform.create_version = original


def redelivered_status(ctx):
    [record] = [d for d in handle_event(ctx, pushed("1.0.0")) if d.agent == "support-bot"]
    return record.status


# -- B: a delivery that does not own the record never delays the owner's next look ------------------


def test_a_duplicate_that_read_before_the_record_existed_leaves_the_first_look_where_the_owner_put_it(ctx):
    event = pushed("1.0.0")
    handle_event(ctx, event)  # the first delivery: version created, next look in FIRST_DELAY_S
    first = bot(ctx)
    assert first.status == "creating"
    due = ctx.store.open[first.id].due
    original = ctx.store.get
    ctx.store.get = lambda deployment_id: None  # the duplicate read just before the record was added
    with contextlib.suppress(AssertionError):
        handle_event(ctx, event)
    ctx.store.get = original
    handle_event(ctx, event)  # and one that goes the whole way through write_pending

    assert ctx.store.open[first.id].due == due == ctx.clock.now() + FIRST_DELAY_S
    assert bot(ctx).status == "creating" and ctx.platform.count("create_version") == 1


# -- C: a process killed between two writes --------------------------------------------------------


@pytest.mark.parametrize("dies_at", range(1, 12))
def test_a_delivery_killed_at_any_write_never_leaves_a_creating_record_waiting_for_the_pending_grace(dies_at):
    ctx = make_ctx()
    writes = 0
    for name in ("add", "update", "schedule", "schedule_by", "save_agent", "begin", "update_and_schedule"):
        method = getattr(ctx.store, name)

        def counted(*args, _method=method, **kwargs):
            nonlocal writes
            writes += 1
            if writes == dies_at:
                raise Killed
            return _method(*args, **kwargs)

        setattr(ctx.store, name, counted)
    with contextlib.suppress(Killed):
        handle_event(ctx, pushed("1.0.0"))
    creating = [d for d in ctx.store.records.values() if d.status == "creating"]
    late = {d.id: ctx.store.open[d.id].due - ctx.clock.now() for d in creating if d.id in ctx.store.open}
    assert all(wait <= FIRST_DELAY_S for wait in late.values()), late
    assert all(d.id in ctx.store.open for d in creating)


# -- D: a redelivery after the first call ended ----------------------------------------------------


def test_a_redelivery_after_the_platform_refused_the_call_creates_the_version_at_once(ctx):
    ctx.platform.create_error = refused(429, "TooManyRequests")
    with pytest.raises(PlatformError):
        handle_event(ctx, pushed("1.0.0"))
    pending = bot(ctx)
    assert pending.status == "pending" and pending.reconcile_after == iso(ctx.clock.now())
    assert ctx.store.open[pending.id].due == ctx.clock.now()  # the poll may do it too
    ctx.platform.create_error = None
    ctx.clock.advance(10)
    handle_event(ctx, pushed("1.0.0"))  # Event Grid's redelivery
    assert bot(ctx).status == "creating" and bot(ctx).version == "1"
    assert ctx.platform.count("create_version") == 2


def test_a_redelivery_after_a_timed_out_call_waits_for_the_service_to_finish_it_then_adopts(ctx):
    # The service makes the version after the client gave up on the call.
    timeout = PlatformError(
        code="ServiceUnreachable", message="read timed out", status_code=None, retryable=True
    )
    with pytest.raises(PlatformError):
        first_call_creates_then(ctx, timeout)
    ctx.clock.advance(SERVER_FINISH_S - 1)
    assert redelivered_status(ctx) == "pending"
    ctx.clock.advance(2)
    handle_event(ctx, pushed("1.0.0"))
    assert (bot(ctx).status, bot(ctx).version) == ("creating", "1")
    assert ctx.platform.count("create_version") == 1  # adopted, not created again


def test_two_reconcilers_at_once_create_one_version(ctx):
    ctx.platform.create_error = refused(503, "ServiceUnavailable")
    with pytest.raises(PlatformError):
        handle_event(ctx, pushed("1.0.0"))
    ctx.platform.create_error = None
    stale = bot(ctx)  # what a redelivery and a poll tick both read
    agent = ctx.config.agent("support-bot")
    create.reconcile(ctx, agent, stale)
    with pytest.raises(Conflict):
        create.reconcile(ctx, agent, stale)
    assert bot(ctx).status == "creating" and ctx.platform.count("create_version") == 2


def test_a_pending_record_whose_call_may_still_run_is_left_to_the_grace(ctx):
    with contextlib.suppress(Killed):
        first_call_creates_then(ctx, Killed())
    ctx.clock.advance(PENDING_GRACE_S - 1)
    assert redelivered_status(ctx) == "pending"
    ctx.clock.advance(2)
    poll_once(ctx, concurrency=1, budget_s=10)
    assert (bot(ctx).status, bot(ctx).version) == ("creating", "1")
    assert ctx.platform.count("create_version") == 1


# -- F: Foundry refusing the deployer for a while ---------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_foundry_refusing_the_deployer_is_retried_for_minutes_then_fails_naming_the_role(ctx, status):
    ctx.platform.create_error = refused(status)
    with pytest.raises(PlatformError):
        handle_event(ctx, pushed("1.0.0"))
    assert bot(ctx).status == "pending"
    for _ in range(int(AUTH_RETRY_S // 60) - 1):
        ctx.clock.advance(60)
        poll_once(ctx, concurrency=1, budget_s=10)
    assert bot(ctx).status == "pending"  # still within AUTH_RETRY_S
    ctx.clock.advance(60)
    poll_once(ctx, concurrency=1, budget_s=10)
    failed = bot(ctx)
    assert failed.status == "failed" and failed.error.code == "Forbidden"
    assert "Azure AI Project Manager" in failed.error.hint
    assert failed.id not in ctx.store.open


def test_foundry_letting_the_deployer_in_again_goes_on_with_the_same_deployment(ctx):
    ctx.platform.create_error = refused(403)
    with pytest.raises(PlatformError):
        handle_event(ctx, pushed("1.0.0"))
    ctx.platform.create_error = None
    ctx.clock.advance(30)
    poll_once(ctx, concurrency=1, budget_s=10)
    assert (bot(ctx).status, bot(ctx).version) == ("creating", "1")
