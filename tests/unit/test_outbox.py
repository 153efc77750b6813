"""The outbox with hand-written fakes: flush with the transition, crash safety, delivery, retries."""

import base64
import json
import threading
from dataclasses import replace

import pytest

from deployer.config.parser import parse_config
from deployer.deploy.poll import poll_and_send, poll_once
from deployer.deploy.start import handle_event
from deployer.domain.notifications import Attempt
from deployer.domain.transitions import PENDING_GRACE_S
from deployer.notify import outbox
from deployer.notify.outbox import Delivery, deliver_due, deliver_one, flush, redeliver
from deployer.notify.retry import RetrySchedule
from tests.unit.builders import digest_for, pushed
from tests.unit.conftest import CONFIG
from tests.unit.fake_outbox import FakeTransport

SECRET = "whsec_" + base64.b64encode(b"q" * 32).decode()
ALL = "https://hooks.example.com/all"
ACTIVE = "https://hooks.example.com/active"
ECHO = "https://hooks.example.com/echo"
FAST = RetrySchedule(offsets_s=(0, 1, 2, 4, 8), jitter=0.0)


def with_webhooks(ctx, *hooks):
    raw = {**CONFIG, "webhooks": list(hooks)}
    return replace(ctx, config=parse_config(raw, {}, resolver=lambda host: ["93.184.216.34"]))


@pytest.fixture
def octx(ctx):
    """The unit context with three receivers: everything, active only, echo only."""
    return with_webhooks(
        ctx,
        {"url": ALL, "secret": SECRET},
        {"url": ACTIVE, "secret": SECRET, "events": ["deployment.active"]},
        {"url": ECHO, "secret": SECRET, "agents": ["echo"]},
    )


@pytest.fixture
def transport():
    return FakeTransport()


@pytest.fixture
def delivery(transport):
    return Delivery(webhooks=transport, topics=transport, schedule=FAST, rand=lambda: 0.5)


def deploy(ctx, tag, n=0, repository="agents/support-bot"):
    return handle_event(ctx, pushed(tag, digest=digest_for(n), repository=repository))


def tick(ctx, seconds=2.0):
    ctx.clock.advance(seconds)
    return poll_once(ctx, concurrency=4, budget_s=20)


def types_sent(transport, url):
    return [json.loads(body)["type"] for body, _ in transport.to(url)]


def test_a_transition_is_handed_to_the_outbox_in_the_same_step_and_cleared(octx):
    [bot] = [d for d in deploy(octx, "1.0.0") if d.agent == "support-bot"]
    stored = octx.store.records[bot.id]
    assert stored.status == "creating" and stored.pending_events == ()
    entries = {e.id: e for e in octx.store.notifications.values() if e.deployment_id == bot.id}
    assert {e.event_type for e in entries.values()} == {"deployment.creating"}
    assert set(octx.store.queue) >= set(entries)


def test_each_subscribed_transition_is_delivered_once_with_filters_holding(octx, delivery, transport):
    [bot] = [d for d in deploy(octx, "1.0.0") if d.agent == "support-bot"]
    octx.platform.set_status("support-bot", "1", "active")
    tick(octx)
    deploy(octx, "v2", 2, repository="agents/echo")
    for _ in range(3):
        deliver_due(octx, delivery)
        octx.clock.advance(1)
    assert sorted(types_sent(transport, ALL)) == sorted(
        ["deployment.creating", "deployment.active", "deployment.skipped", "deployment.creating"]
    )
    assert types_sent(transport, ACTIVE) == ["deployment.active"]
    assert types_sent(transport, ECHO) == ["deployment.creating"]
    ids = [h["webhook-id"] for _, h in transport.to(ALL)]
    assert len(ids) == len(set(ids)) and f"{bot.id}.active" in ids
    assert not octx.store.queue


def echo_push(ctx, n=0):
    [d] = deploy(ctx, f"v{n}", n, repository="agents/echo")
    return d


def test_a_receiver_that_fails_for_a_while_gets_each_event_once_with_the_same_id(octx, delivery, transport):
    transport.answers[ALL] = [Attempt(status=503), Attempt(error="timeout"), Attempt(status=200)]
    bot = echo_push(octx)
    reports = []
    for _ in range(6):
        reports.append(deliver_due(octx, delivery))
        octx.clock.advance(1.0)
    sent = transport.to(ALL)
    assert [h["webhook-id"] for _, h in sent] == [f"{bot.id}.creating"] * 3
    entry = next(e for e in octx.store.notifications.values() if e.subscriber == octx.config.webhooks[0].key)
    assert entry.state == "delivered" and entry.attempts == 3 and entry.last_result == "200"
    assert sum(r.delivered for r in reports) == 2  # to ALL after three attempts, to ECHO at once


def test_retry_after_is_honoured(octx, delivery, transport):
    transport.answers[ALL] = [Attempt(status=429, retry_after_s=30), Attempt(status=200)]
    delivery = replace(delivery, schedule=RetrySchedule(offsets_s=(0, 1, 2, 120), jitter=0.0))
    echo_push(octx)
    deliver_due(octx, delivery)
    for _ in range(5):
        octx.clock.advance(5)
        deliver_due(octx, delivery)
    assert len(transport.to(ALL)) == 1
    octx.clock.advance(10)
    deliver_due(octx, delivery)
    assert len(transport.to(ALL)) == 2


def test_a_gone_receiver_sends_the_entry_to_dead_and_redelivery_works(octx, delivery, transport):
    transport.answers[ALL] = [Attempt(status=410), Attempt(status=200)]
    bot = echo_push(octx)
    deliver_due(octx, delivery)
    [dead] = outbox.notifications(octx, state="dead")
    assert dead.last_result == "410" and dead.id not in octx.store.queue
    assert "url" not in dead.to_json() and dead.to_json()["state"] == "dead"
    octx.clock.advance(60)
    deliver_due(octx, delivery)
    assert len(transport.to(ALL)) == 1
    again = redeliver(octx, dead.id)
    assert again.state == "pending" and redeliver(octx, dead.id).state == "pending"  # harmless twice
    deliver_due(octx, delivery)
    ids = [h["webhook-id"] for _, h in transport.to(ALL)]
    assert ids == [f"{bot.id}.creating"] * 2
    assert octx.store.get_notification(dead.id).state == "delivered"
    with pytest.raises(LookupError):
        redeliver(octx, "nope")


def test_an_entry_gives_up_after_the_schedule(octx, delivery, transport):
    transport.answers[ALL] = [Attempt(status=500)]
    echo_push(octx)
    for _ in range(20):
        deliver_due(octx, delivery)
        octx.clock.advance(1)
    assert len(transport.to(ALL)) == len(FAST.offsets_s)
    assert sorted(e.state for e in outbox.notifications(octx)) == ["dead", "delivered"]  # ALL, ECHO


def test_refused_addresses_and_removed_subscribers_go_dead_without_retries(octx, delivery, transport):
    transport.answers[ALL] = [Attempt(error="address_refused")]
    echo_push(octx)
    octx_without = replace(octx, config=replace(octx.config, webhooks=octx.config.webhooks[:1]))
    deliver_due(octx_without, delivery)
    results = sorted((e.state, e.last_result) for e in octx.store.notifications.values())
    assert results == [("dead", "address_refused"), ("dead", "subscriber_removed")]
    assert not octx.store.queue and len(transport.sent) == 1


def test_a_crash_before_the_flush_leaves_the_record_to_the_poll(octx, monkeypatch):
    [bot] = [d for d in deploy(octx, "1.0.0") if d.agent == "support-bot"]
    octx.platform.set_status("support-bot", "1", "active")
    real = outbox.flush

    def dies_on_active(ctx, d):
        if d.status == "active":
            raise SystemExit("killed")
        return real(ctx, d)

    monkeypatch.setattr(outbox, "flush", dies_on_active)
    with pytest.raises(SystemExit):
        tick(octx)
    died = octx.store.records[bot.id]
    assert died.status == "active" and died.pending_events[-1] == "deployment.active"
    assert bot.id in octx.store.open  # still findable
    monkeypatch.setattr(outbox, "flush", real)
    tick(octx, 61)
    assert octx.store.records[bot.id].pending_events == () and bot.id not in octx.store.open
    assert any(e.event_type == "deployment.active" for e in octx.store.notifications.values())


def test_a_skipped_record_is_flushed_at_once_or_by_the_poll_after_a_crash(octx, monkeypatch):
    [canary] = [d for d in deploy(octx, "1.0.0") if d.agent == "support-bot-canary"]
    assert canary.status == "skipped" and canary.pending_events == () and canary.id not in octx.store.open
    monkeypatch.setattr(outbox, "flush", lambda ctx, d: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        deploy(octx, "2.0.0", 5)
    [left] = [d for d in octx.store.records.values() if d.pending_events == ("deployment.skipped",)]
    assert left.id in octx.store.open
    monkeypatch.undo()
    tick(octx, PENDING_GRACE_S + 1)
    assert octx.store.records[left.id].pending_events == () and left.id not in octx.store.open
    assert any(e.deployment_id == left.id for e in octx.store.notifications.values())


def test_ignored_records_cost_nothing_extra(octx):
    writes = len(octx.store.notifications)
    [d] = handle_event(octx, replace(pushed("1.0.0"), kind="ignored", reason="ImageDeleted", push=None))
    assert d.status == "ignored" and d.id not in octx.store.open and len(octx.store.notifications) == writes


def test_the_previous_active_deployment_is_notified_as_superseded(octx, delivery, transport):
    [first] = [d for d in deploy(octx, "1.0.0", 1) if d.agent == "support-bot"]
    octx.platform.set_status("support-bot", "1", "active")
    tick(octx)
    [second] = [d for d in deploy(octx, "1.1.0", 2) if d.agent == "support-bot"]
    octx.platform.set_status("support-bot", "2", "active")
    tick(octx)
    deliver_due(octx, delivery)
    ids = {h["webhook-id"] for _, h in transport.to(ALL)}
    assert {f"{first.id}.superseded", f"{second.id}.active"} <= ids
    assert first.id not in octx.store.open and octx.store.records[first.id].pending_events == ()


def test_flushing_twice_writes_nothing_new(octx):
    [bot] = [d for d in deploy(octx, "1.0.0") if d.agent == "support-bot"]
    before = dict(octx.store.notifications)
    stale = replace(octx.store.records[bot.id], pending_events=("deployment.creating",))
    octx.store.records[bot.id] = stale
    flush(octx, stale)
    assert octx.store.notifications == before


def test_a_leased_entry_is_not_taken_by_another_sender(octx, delivery, transport):
    deploy(octx, "1.0.0")
    queued = octx.store.due_notifications(octx.clock.now(), 10)
    assert deliver_one(octx, delivery, queued[0]) == "delivered"
    assert deliver_one(octx, delivery, queued[0]) == "taken"  # stale ETag: someone else has it


def test_two_senders_at_once_never_deliver_an_entry_twice(octx, delivery, transport):
    for n in range(40):
        deploy(octx, f"v{n}", n, repository="agents/echo")
    senders = [threading.Thread(target=deliver_due, args=(octx, delivery)) for _ in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    sent = [(url, h["webhook-id"]) for url, _, h in transport.sent]
    assert len(sent) == len(set(sent)) == 80  # 40 creating events, to ALL and to ECHO


def test_a_poll_tick_sends_the_webhooks_of_the_transitions_it_made_in_the_same_execution(
    octx, transport, delivery
):
    deploy(octx, "1.0.0")
    octx.platform.set_status("support-bot", "1", "active")
    octx.clock.advance(2)
    poll_and_send(octx, delivery, concurrency=2, budget_s=10)
    events = [json.loads(body)["type"] for body, _ in transport.to(ACTIVE)]
    assert events == ["deployment.active"] and not octx.store.queue


def test_a_tick_that_looked_at_nothing_or_with_no_subscribers_does_not_read_the_queue(ctx, octx, delivery):
    for c in (octx, ctx):
        c.store.due_notifications = lambda now, limit: pytest.fail("the queue was read")
    poll_and_send(octx, delivery, concurrency=2, budget_s=10)  # nothing open
    deploy(ctx, "1.0.0")
    ctx.clock.advance(2)
    assert poll_and_send(ctx, delivery, concurrency=2, budget_s=10).worked == 1
