import contextlib
import random
from dataclasses import replace

from deployer.deploy.poll import poll_once
from deployer.deploy.start import handle_event
from deployer.domain.errors import PlatformError
from deployer.domain.transitions import FIRST_DELAY_S, PENDING_GRACE_S
from deployer.entrypoints.acr_events import parse_event
from tests.unit.builders import digest_for, pushed

BOT = "support-bot"


def test_a_push_fans_out_to_every_agent_whose_rule_matches(ctx):
    results = handle_event(ctx, pushed("v1.2.0"))
    assert {(d.agent, d.status, d.version) for d in results} == {
        ("support-bot", "creating", "1"),
        ("support-bot-canary", "creating", "1"),
    }


def test_the_same_event_delivered_five_times_creates_one_version(ctx):
    event = pushed("1.2.0")
    for _ in range(5):
        handle_event(ctx, event)
    assert ctx.platform.count("create_version") == 1
    assert len([d for d in ctx.store.records.values() if d.agent == "support-bot"]) == 1


def test_another_event_for_the_same_digest_and_tag_is_recorded_as_duplicate(ctx):
    handle_event(ctx, pushed("1.2.0", event_id="first"))
    [again] = [d for d in handle_event(ctx, pushed("1.2.0", event_id="second")) if d.agent == "support-bot"]
    assert (again.status, again.reason) == ("skipped", "duplicate")
    assert ctx.platform.count("create_version") == 1


def test_semver_agent_never_moves_backwards_whatever_the_delivery_order(ctx):
    tags = [f"1.{minor}.0" for minor in range(20)]
    random.Random(7).shuffle(tags)
    for n, tag in enumerate(tags):
        handle_event(ctx, pushed(tag, digest=digest_for(n)))
        ctx.clock.advance(0.01)
    started = [d for d in ctx.store.records.values() if d.agent == "support-bot" and d.status == "creating"]
    skipped = [d for d in ctx.store.records.values() if d.agent == "support-bot" and d.status == "skipped"]
    assert {d.reason for d in skipped} <= {"older_than_active"}
    assert len(started) + len(skipped) == 20
    assert max(started, key=lambda d: d.created_at).tag == "1.19.0"


def test_a_tag_outside_the_policy_is_skipped_with_the_reason(ctx):
    [record] = [d for d in handle_event(ctx, pushed("2.0.0")) if d.agent == "support-bot"]
    assert (record.status, record.reason) == ("skipped", "tag_policy")


def test_a_repository_no_rule_names_is_recorded_once(ctx):
    event = pushed("v1", repository="other/thing")
    [first] = handle_event(ctx, event)
    [second] = handle_event(ctx, event)
    assert (first.status, first.reason, first.id) == ("skipped", "no_matching_rule", second.id)


def test_a_foreign_registry_is_refused_and_deploys_nothing(ctx):
    [record] = handle_event(ctx, pushed("1.0.0", registry="evil.azurecr.io"))
    assert (record.status, record.reason) == ("refused", "registry_not_allowed")
    assert ctx.platform.calls == []


def test_an_untagged_push_is_ignored_on_purpose(ctx):
    [record] = handle_event(ctx, pushed(None))
    assert (record.status, record.reason) == ("ignored", "untagged")


def test_a_client_error_from_foundry_fails_the_deployment_with_a_hint(ctx):
    ctx.platform.create_error = PlatformError(
        code="AcrImageNotFound", message="no such image", status_code=404, retryable=False
    )
    [record] = [d for d in handle_event(ctx, pushed("1.0.0")) if d.agent == "support-bot"]
    assert record.status == "failed"
    assert record.error.code == "AcrImageNotFound" and "publish image" in record.error.hint
    assert record.id not in ctx.store.open


def push_that_dies_after_create_version(ctx):
    """Push 1.0.0 to support-bot in a process killed before the record moves to creating; the
    record left behind."""
    original = ctx.store.update

    def crash(deployment):
        if deployment.status == "creating":
            raise SystemExit("killed between create_version and the record update")
        return original(deployment)

    ctx.store.update = crash
    with contextlib.suppress(SystemExit):
        handle_event(ctx, pushed("1.0.0"))
    ctx.store.update = original
    [pending] = [d for d in ctx.store.records.values() if d.agent == "support-bot"]
    return pending


def test_a_crash_after_create_version_is_reconciled_to_exactly_one_version(ctx):
    pending = push_that_dies_after_create_version(ctx)
    assert pending.status == "pending"
    handle_event(ctx, pushed("1.0.0"))  # Event Grid redelivers: nothing new is created
    ctx.clock.advance(PENDING_GRACE_S + 1)
    poll_once(ctx, concurrency=2, budget_s=10)
    reconciled = ctx.store.records[pending.id]
    assert reconciled.status == "creating" and reconciled.version == "1"
    assert ctx.platform.count("create_version") == 1


def test_the_open_and_serving_statuses_are_statuses_and_apart():
    from typing import get_args

    from deployer.domain.model import OPEN_STATUSES, SERVING_STATUSES, Status

    assert set(get_args(Status)) >= OPEN_STATUSES | SERVING_STATUSES
    assert not OPEN_STATUSES & SERVING_STATUSES


def test_events_without_an_id_are_recorded_once_each_by_content(ctx):
    def without_id(digest: str) -> dict:
        return {"id": None, "eventType": "Microsoft.ContainerRegistry.ImagePushed", "data": {"d": digest}}

    first, second = without_id(digest_for(1)), without_id(digest_for(2))
    [one] = handle_event(ctx, parse_event(first))
    [again] = handle_event(ctx, parse_event(first))  # a redelivery of the same event
    [two] = handle_event(ctx, parse_event(second))
    assert (one.status, one.event_id) == ("refused", None)
    assert again.id == one.id and two.id != one.id
    assert len(ctx.store.records) == 2


def test_a_push_writes_its_first_look_with_the_record_and_only_the_record_after_create_version(ctx):
    writes = []
    for name in ("update", "update_and_schedule", "schedule", "schedule_by"):
        original = getattr(ctx.store, name)
        setattr(ctx.store, name, lambda *a, _f=original, _n=name: writes.append(_n) or _f(*a))
    [record] = [d for d in handle_event(ctx, pushed("1.0.0")) if d.agent == "support-bot"]
    assert record.status == "creating" and writes == ["update"]
    assert ctx.store.open[record.id].due == ctx.clock.now() + FIRST_DELAY_S


def test_a_first_look_while_create_version_still_runs_leaves_the_record_and_looks_again_soon(ctx):
    platform_create = ctx.platform.create_version

    def slow_create(*args):  # the poll's first look comes while the call is still running
        ctx.clock.advance(FIRST_DELAY_S + 1)
        poll_once(ctx, concurrency=1, budget_s=10)
        return platform_create(*args)

    ctx.platform.create_version = slow_create
    [record] = [d for d in handle_event(ctx, pushed("1.0.0")) if d.agent == "support-bot"]
    assert record.status == "creating" and ctx.platform.count("create_version") == 1
    entry = ctx.store.open[record.id]
    assert entry.due < ctx.clock.now() + PENDING_GRACE_S / 2  # not held back until the grace ends
    ctx.clock.advance(entry.due - ctx.clock.now())
    poll_once(ctx, concurrency=1, budget_s=10)
    assert ctx.platform.count("get_version") == 1 and ctx.platform.count("create_version") == 1


def test_a_push_that_died_after_create_version_is_looked_at_with_the_backoff_until_the_grace_ends(ctx):
    pending = push_that_dies_after_create_version(ctx)
    looks = 0
    while ctx.store.records[pending.id].status == "pending":
        ctx.clock.advance(ctx.store.open[pending.id].due - ctx.clock.now())
        poll_once(ctx, concurrency=1, budget_s=10)
        looks += 1
    assert 2 < looks < 15  # 2, 4, 8, 16, 30, 30, ... s apart, then reconciled at the grace's end
    reconciled = ctx.store.records[pending.id]
    assert reconciled.status == "creating" and ctx.platform.count("create_version") == 1
    assert [h.status for h in reconciled.history] == ["pending", "creating"]


def test_a_push_judged_against_a_stale_agent_row_is_judged_again_against_the_row_as_read(ctx):
    [first] = [d for d in handle_event(ctx, pushed("1.5.0")) if d.agent == "support-bot"]
    before = ctx.store.agents["support-bot"]
    ctx.store.stale_agents["support-bot"] = replace(before, high_tag="1.0.0", etag="W/older")
    # Against the stale row 1.2.0 would be newer; the write that row's ETag conditions fails.
    [older] = [
        d for d in handle_event(ctx, pushed("1.2.0", digest=digest_for(2))) if d.agent == "support-bot"
    ]
    assert older.status == "skipped" and ctx.platform.count("create_version") == 1
    assert ctx.store.agents["support-bot"].high_tag == before.high_tag == first.tag


def test_a_push_judged_against_a_stale_agent_row_that_still_deploys_writes_once_with_the_row_as_read(ctx):
    handle_event(ctx, pushed("1.5.0"))
    before = ctx.store.agents["support-bot"]
    ctx.store.stale_agents["support-bot"] = replace(before, etag="W/older")
    [newer] = [
        d for d in handle_event(ctx, pushed("1.6.0", digest=digest_for(2))) if d.agent == "support-bot"
    ]
    assert newer.status == "creating" and ctx.platform.count("create_version") == 2
    assert ctx.store.agents["support-bot"].high_tag == "1.6.0"
    assert [h.status for h in newer.history] == ["pending", "creating"]
