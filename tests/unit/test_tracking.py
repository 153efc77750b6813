import threading
from dataclasses import replace

from deployer.deploy.poll import poll_once
from deployer.deploy.start import handle_event
from deployer.domain import transitions
from tests.unit.builders import digest_for, pushed
from tests.unit.tracking_steps import deploy, tick


def test_a_creating_version_becomes_active_with_its_history(ctx):
    record = deploy(ctx, "1.0.0")
    tick(ctx)
    assert ctx.store.records[record.id].status == "creating"
    ctx.platform.set_status("support-bot", "1", "active")
    tick(ctx, 5)
    done = ctx.store.records[record.id]
    assert [h.status for h in done.history] == ["pending", "creating", "active"]
    assert done.time_to_active_s == 7.0 and record.id not in ctx.store.open
    assert ctx.store.get_agent("support-bot").active_id == record.id


def test_a_failed_version_carries_the_code_and_the_troubleshooting_hint(ctx):
    record = deploy(ctx, "1.0.0")
    ctx.platform.set_status("support-bot", "1", "failed", code="AcrImageNotFound")
    tick(ctx)
    failed = ctx.store.records[record.id]
    assert failed.status == "failed" and failed.error.code == "AcrImageNotFound"
    assert failed.error.hint == "Correct image name/tag or publish image."


def test_a_version_that_never_leaves_creating_times_out(ctx):
    record = deploy(ctx, "1.0.0")
    for _ in range(5):
        tick(ctx, 30)
    timed_out = ctx.store.records[record.id]
    assert timed_out.status == "timed_out" and "timeout_s" in timed_out.error.hint


def test_a_creating_version_is_looked_at_every_tick_at_first_then_less_often(ctx):
    handle_event(ctx, pushed("v1", repository="agents/echo"))
    for _ in range(60):
        tick(ctx, 1)
    assert ctx.platform.count("get_version") == 15  # at 2 s, then every 4 s (each 5-second tick)
    for _ in range(120):
        tick(ctx, 1)
    # every 4 s until 120 s (15 more), then every 8 s for half a minute, then 16 s (6 more)
    assert ctx.platform.count("get_version") == 15 + 15 + 6


def provisioned_in(ctx, tag, n, seconds):
    """Push ``tag``; its version becomes active ``seconds`` after the push. The looks it took
    (``get_version`` calls) and how long after the flip the record said active."""
    record = deploy(ctx, tag, n)
    ctx.platform.calls.clear()
    version = ctx.store.records[record.id].version
    for second in range(1, 300):
        tick(ctx, 1)
        if second == seconds:
            ctx.platform.set_status("support-bot", version, "active")
        if ctx.store.records[record.id].status == "active":
            return ctx.platform.count("get_version"), second - seconds
    raise AssertionError("never active")


def test_an_agent_whose_versions_took_a_minute_is_looked_at_densely_only_around_the_minute(ctx):
    looks, late = provisioned_in(ctx, "1.0.0", 0, 60)
    assert looks == 16 and late <= transitions.FAST_DELAY_S  # no history: every 4 s from 2 s
    assert ctx.store.get_agent("support-bot").took_s == (62.0,)  # seen at the look after the flip
    looks, late = provisioned_in(ctx, "1.1.0", 1, 60)
    assert looks <= 6 and late <= transitions.FAST_DELAY_S  # at 2 s, then from 45 s every 4 s


def store_calls(ctx):
    """The names of the store's record and open-work methods called from now on."""
    calls = []
    for name in ("get", "update", "update_together", "schedule", "schedule_by", "unschedule", "get_agent"):
        method = getattr(ctx.store, name)
        setattr(ctx.store, name, lambda *a, _m=method, _n=name, **k: calls.append(_n) or _m(*a, **k))
    return calls


def test_a_look_that_finds_the_version_still_creating_costs_one_conditional_write(ctx):
    record = deploy(ctx, "1.0.0")
    tick(ctx)  # the first look reads the record (and settles the runtime role)
    entry = ctx.store.open[record.id]
    assert entry.look is not None and entry.look.version == "1"
    calls = store_calls(ctx)
    for _ in range(3):
        tick(ctx, 4)
    assert calls == ["schedule"] * 3 and ctx.platform.count("get_version") == 4
    assert ctx.store.open[record.id].attempt == entry.attempt + 3
    ctx.platform.set_status("support-bot", "1", "active")
    tick(ctx, 4)  # the change: the full look under a lease
    assert "get" in calls and ctx.store.records[record.id].status == "active"
    assert record.id not in ctx.store.open


def test_a_quiet_look_past_the_agents_timeout_is_a_full_one_and_times_the_version_out(ctx):
    record = deploy(ctx, "1.0.0")
    tick(ctx)
    assert ctx.store.open[record.id].look is not None
    for _ in range(40):
        tick(ctx, 30)
    assert ctx.store.records[record.id].status == "timed_out"


def test_a_tick_with_nothing_due_reads_nothing_but_the_index(ctx):
    deploy(ctx, "1.0.0")
    ctx.platform.calls.clear()
    ctx.clock.advance(0.5)
    report = poll_once(ctx, concurrency=4, budget_s=20)
    assert report.due == 0 and ctx.platform.calls == []


def test_the_previous_active_is_superseded_and_an_older_creating_one_too_when_it_finishes(ctx):
    first, second = deploy(ctx, "1.0.0", 1), deploy(ctx, "1.1.0", 2)
    ctx.platform.set_status("support-bot", "1", "active")
    tick(ctx)
    third = deploy(ctx, "1.2.0", 3)
    ctx.platform.set_status("support-bot", "3", "active")
    tick(ctx, 30)
    ctx.platform.set_status("support-bot", "2", "active")
    tick(ctx, 30)
    statuses = {d: ctx.store.records[d.id].status for d in (first, second, third)}
    assert list(statuses.values()) == ["superseded", "superseded", "active"]


def test_retention_keeps_exactly_keep_versions_and_never_the_active_one(ctx):
    records = []
    for n in range(4):
        records.append(deploy(ctx, f"1.{n}.0", n))
        ctx.platform.set_status("support-bot", str(n + 1), "active")
        tick(ctx, 30)
    live = ctx.platform.list_versions("", "support-bot")
    assert [v.version for v in live] == ["3", "4"]
    assert ctx.store.get_agent("support-bot").active_tag == "1.3.0"
    deleted = [ctx.store.records[r.id].version_deleted_at is not None for r in records]
    assert deleted == [True, True, False, False]


def test_two_tick_loops_at_once_apply_every_transition_exactly_once(ctx):
    records = []
    for n in range(50):
        [r] = [
            d
            for d in handle_event(ctx, pushed(f"v{n}", digest=digest_for(n)))
            if d.agent == "support-bot-canary"
        ]
        records.append(r)
        ctx.clock.advance(0.01)
    for r in records:
        ctx.platform.set_status("support-bot-canary", r.version, "active")
    ctx.clock.advance(2)
    threads = [
        threading.Thread(target=poll_once, args=(ctx,), kwargs={"concurrency": 4, "budget_s": 20})
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _ in range(3):
        tick(ctx, 61)
    histories = [[h.status for h in ctx.store.records[r.id].history] for r in records]
    assert all(len(h) == len(set(h)) for h in histories), "a transition was applied twice"
    assert [h[-1] for h in histories] == ["superseded"] * 49 + ["active"]
    assert not ctx.store.open


def test_a_look_made_late_in_a_long_tick_is_made_again_at_the_next_tick(ctx, monkeypatch):
    record = deploy(ctx, "1.0.0")
    due = ctx.store.due

    def reached_late(now, limit):  # the tick reaches its entries 1.5 s after it started
        found = due(now, limit)
        ctx.clock.advance(1.5)
        return found

    monkeypatch.setattr(ctx.store, "due", reached_late)
    tick(ctx, 2.0)  # the first look (full): the tick started 2 s after the push
    for _ in range(4):
        tick(ctx, 5.0 - 1.5)  # the next ticks, 5 s apart from start to start
    assert ctx.platform.count("get_version") == 5, "a tick went by without a look"
    assert ctx.store.records[record.id].status == "creating"


def test_a_tick_leases_its_due_entries_in_one_store_call_and_skips_those_taken_meanwhile(ctx, monkeypatch):
    records = [deploy(ctx, f"1.0.{n}", n) for n in range(3)]
    tick(ctx)  # the first looks: each entry now carries a quiet look
    versions = {r.id: ctx.store.records[r.id].version for r in records}
    taken = records[1].id
    due, leases = ctx.store.due, []

    def read_then_taken(now, limit):  # another worker leases one entry after this tick read it
        found = due(now, limit)
        ctx.store.schedule(replace(ctx.store.open[taken], due=now + 60))
        return found

    monkeypatch.setattr(ctx.store, "due", read_then_taken)
    lease = ctx.store.lease
    monkeypatch.setattr(ctx.store, "lease", lambda entries: leases.append(len(entries)) or lease(entries))
    ctx.platform.calls.clear()
    report = tick(ctx, 5)
    looked = [version for call, _, version in ctx.platform.calls if call == "get_version"]
    assert leases == [3] and report.due == 3
    assert sorted(looked) == sorted(v for i, v in versions.items() if i != taken)


def test_a_quiet_look_that_sees_the_version_active_asks_foundry_once(ctx):
    record = deploy(ctx, "1.0.0")
    tick(ctx)  # the first look (full): the next one is quiet
    ctx.platform.set_status("support-bot", "1", "active")
    ctx.platform.calls.clear()
    tick(ctx, 4)
    assert ctx.store.records[record.id].status == "active"
    assert ctx.platform.count("get_version") == 1  # the full look takes the version the quiet look saw


def test_leases_a_tick_cannot_work_within_its_budget_are_handed_back_unchanged(ctx, monkeypatch):
    records = [deploy(ctx, f"1.0.{n}", n) for n in range(3)]
    tick(ctx)  # the first looks
    ctx.clock.advance(4)
    before = {r.id: ctx.store.open[r.id] for r in records}
    get_version = ctx.platform.get_version

    def slow(*args):  # the first look uses up the whole budget
        ctx.clock.advance(30)
        return get_version(*args)

    monkeypatch.setattr(ctx.platform, "get_version", slow)
    report = poll_once(ctx, concurrency=1, budget_s=20)
    assert (report.due, report.worked, report.deferred) == (3, 1, 2)
    left = [r.id for r in records if ctx.store.open[r.id].attempt == before[r.id].attempt]
    assert len(left) == 2
    assert all(
        (ctx.store.open[i].due, ctx.store.open[i].look) == (before[i].due, before[i].look) for i in left
    )
