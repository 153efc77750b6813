"""The runtime-role step in the poll, with hand-written fakes: a deployment is active only once
its version's identity holds Azure AI User on the project."""

import threading
from dataclasses import replace

import pytest

from deployer.config.parser import parse_config
from deployer.deploy.poll import poll_once
from deployer.deploy.start import handle_event
from deployer.domain.roles import AZURE_AI_USER_ROLE_ID, RETRY_FOR_S
from tests.unit.builders import digest_for, pushed
from tests.unit.conftest import CONFIG, PROJECT_ID
from tests.unit.fakes import arm_error, principal_for, set_identity


def deploy(ctx, tag="v1", n=0, agent="echo"):
    repository = "agents/support-bot" if agent.startswith("support-bot") else f"agents/{agent}"
    event = pushed(tag, digest=digest_for(n), repository=repository)
    [record] = [d for d in handle_event(ctx, event) if d.agent == agent]
    return record


def tick(ctx, seconds=30.0):
    ctx.clock.advance(seconds)
    return poll_once(ctx, concurrency=4, budget_s=20)


def record(ctx, deployment):
    return ctx.store.records[deployment.id]


def test_the_identity_is_granted_azure_ai_user_on_the_project_before_the_deployment_is_active(ctx):
    d = deploy(ctx)
    tick(ctx)
    creating = record(ctx, d)
    assert creating.status == "creating" and creating.runtime_role.status == "granted"
    ctx.platform.set_status("echo", "1", "active")
    tick(ctx)
    done = record(ctx, d)
    assert done.status == "active" and [h.status for h in done.history] == ["pending", "creating", "active"]
    [call] = ctx.roles.calls
    assert call.scope == PROJECT_ID and call.principal_id == principal_for("echo", "1")
    assert call.role_definition_id.endswith(f"/roleDefinitions/{AZURE_AI_USER_ROLE_ID}")
    assert done.to_json()["runtime_role"] == {
        "status": "granted",
        "principal_id": principal_for("echo", "1"),
        "attempts": 1,
        "since": None,
        "error": None,
    }


def test_an_identity_reported_only_after_a_few_polls_is_granted_then(ctx):
    d = deploy(ctx)
    set_identity(ctx.platform, "echo", "1", None)
    ctx.platform.set_status("echo", "1", "active")
    tick(ctx)
    tick(ctx)
    waiting = record(ctx, d)
    assert waiting.status == "creating" and waiting.runtime_role.status == "pending"
    assert ctx.roles.calls == [] and ctx.store.get_agent("echo").active_id is None
    set_identity(ctx.platform, "echo", "1", principal_for("echo", "1"))
    tick(ctx)
    assert record(ctx, d).status == "active" and len(ctx.roles.calls) == 1


def test_a_principal_not_found_twice_is_granted_on_the_third_try(ctx):
    ctx.roles.errors += [arm_error("PrincipalNotFound"), arm_error("PrincipalNotFound")]
    d = deploy(ctx)
    ctx.platform.set_status("echo", "1", "active")
    tick(ctx)
    first = record(ctx, d)
    assert first.status == "creating" and first.runtime_role.status == "pending"
    assert first.runtime_role.error_code == "PrincipalNotFound"
    tick(ctx)
    tick(ctx)
    done = record(ctx, d)
    assert done.status == "active" and done.runtime_role.status == "granted"
    assert done.runtime_role.attempts == 3 and len(ctx.roles.calls) == 3


def test_a_forbidden_deployer_fails_the_deployment_with_the_arm_error_and_the_role_it_needs(ctx):
    ctx.roles.errors.append(arm_error("AuthorizationFailed", 403))
    d = deploy(ctx)
    tick(ctx)
    failed = record(ctx, d)
    assert failed.status == "failed" and failed.runtime_role.status == "failed"
    assert failed.error.code == "runtime_role_failed"
    assert (
        "AuthorizationFailed" in failed.error.message and principal_for("echo", "1") in failed.error.message
    )
    assert (
        "Azure AI Project Manager" in failed.error.hint and "User Access Administrator" in failed.error.hint
    )
    tick(ctx)
    assert len(ctx.roles.calls) == 1 and d.id not in ctx.store.open


def test_a_principal_never_found_fails_once_the_retry_window_is_over(ctx):
    ctx.roles.errors += [arm_error("PrincipalNotFound")] * 50
    d = deploy(ctx)
    ctx.platform.set_status("echo", "1", "active")
    for _ in range(int(RETRY_FOR_S // 30) + 2):
        tick(ctx)
    failed = record(ctx, d)
    assert failed.status == "failed" and failed.error.code == "runtime_role_failed"
    assert "PrincipalNotFound" in failed.error.message


def test_an_assignment_already_held_counts_as_done(ctx):
    first = deploy(ctx, "v1", 1)
    ctx.clock.advance(1)
    second = deploy(ctx, "v2", 2)
    set_identity(ctx.platform, "echo", "2", principal_for("echo", "1"))  # one identity for both
    for version in ("1", "2"):
        ctx.platform.set_status("echo", version, "active")
    tick(ctx)
    statuses = sorted(record(ctx, d).runtime_role.status for d in (first, second))
    assert statuses == ["already_present", "granted"] and len(ctx.roles.calls) == 2
    assert record(ctx, second).status == "active"


def test_an_arm_outage_is_retried_on_later_polls(ctx):
    ctx.roles.errors.append(arm_error("ServiceUnreachable", None))
    d = deploy(ctx)
    ctx.platform.set_status("echo", "1", "active")
    tick(ctx)
    assert record(ctx, d).runtime_role.status == "pending"
    tick(ctx)
    assert record(ctx, d).status == "active" and len(ctx.roles.calls) == 2


def test_grant_runtime_role_false_skips_the_step_and_records_it(ctx):
    config = {**CONFIG, "grant_runtime_role": False}
    ctx = replace(
        ctx, config=parse_config({k: v for k, v in config.items() if k != "project_resource_id"}, {})
    )
    d = deploy(ctx)
    ctx.platform.set_status("echo", "1", "active")
    tick(ctx)
    done = record(ctx, d)
    assert done.status == "active" and done.runtime_role.status == "skipped"
    assert done.to_json()["runtime_role"]["status"] == "skipped" and ctx.roles.calls == []


def test_two_tick_loops_grant_each_new_identity_exactly_once(ctx):
    records = []
    for n in range(30):
        records.append(deploy(ctx, f"v{n}", n, agent="support-bot-canary"))
        ctx.clock.advance(0.01)
    for r in records:
        ctx.platform.set_status("support-bot-canary", r.version, "active")
    ctx.clock.advance(2)
    loops = [
        threading.Thread(target=poll_once, args=(ctx,), kwargs={"concurrency": 4, "budget_s": 20})
        for _ in range(2)
    ]
    for loop in loops:
        loop.start()
    for loop in loops:
        loop.join()
    for _ in range(3):
        tick(ctx, 61)
    granted = [record(ctx, r) for r in records if record(ctx, r).runtime_role is not None]
    # support-bot shares the repository and deploys v1 (1.0.0) too: only this agent's identities.
    ours = {principal_for("support-bot-canary", record(ctx, r).version) for r in records}
    asked = sorted(call.principal_id for call in ctx.roles.calls if call.principal_id in ours)
    assert asked == sorted(d.runtime_role.principal_id for d in granted)  # one call each, none twice
    assert len(granted) > 1 and {d.runtime_role.status for d in granted} == {"granted"}
    [active] = [d for d in granted if d.status == "active"]
    assert active.runtime_role.principal_id == principal_for("support-bot-canary", active.version)
    # The others were superseded (retention leaves the version of a deployment under way).
    assert {record(ctx, r).status for r in records} == {"active", "superseded"}


def test_a_ticks_first_looks_write_their_grants_and_next_looks_together_not_one_by_one(ctx, monkeypatch):
    records = [deploy(ctx, f"v{n}", n) for n in range(5)]
    updates, together = [], []
    monkeypatch.setattr(ctx.store, "update", updates.append)
    each = ctx.store.update_and_schedule_each
    monkeypatch.setattr(
        ctx.store, "update_and_schedule_each", lambda looks: together.append(looks) or each(looks)
    )
    tick(ctx)
    [looks] = together
    assert updates == [] and sorted(d.id for d, _ in looks) == sorted(r.id for r in records)
    for r in records:
        creating = record(ctx, r)
        assert creating.status == "creating" and creating.runtime_role.status == "granted"
        assert ctx.store.open[r.id].look is not None  # the next look is a quiet one


def test_a_crash_after_the_grant_before_its_write_grants_again_at_the_next_look(ctx, monkeypatch):
    d = deploy(ctx)
    each = ctx.store.update_and_schedule_each
    monkeypatch.setattr(ctx.store, "update_and_schedule_each", crash)
    with pytest.raises(RuntimeError):
        tick(ctx)
    assert record(ctx, d).runtime_role is None and len(ctx.roles.calls) == 1
    monkeypatch.setattr(ctx.store, "update_and_schedule_each", each)
    tick(ctx, 61)  # the crashed look's lease has run out
    assert record(ctx, d).runtime_role.status == "already_present" and len(ctx.roles.calls) == 2
    ctx.platform.set_status("echo", "1", "active")
    tick(ctx)
    assert record(ctx, d).status == "active"


def test_a_record_changed_during_its_look_keeps_the_change_and_is_looked_at_again_soon(ctx, monkeypatch):
    moved, other = deploy(ctx, "v1", 1), deploy(ctx, "v2", 2)
    each = ctx.store.update_and_schedule_each

    def another_worker_first(looks):
        current = ctx.store.records[moved.id]
        ctx.store.update(replace(current, updated_at="2026-11-29T12:34:56.000Z"))
        return each(looks)

    monkeypatch.setattr(ctx.store, "update_and_schedule_each", another_worker_first)
    tick(ctx)
    kept, lease = record(ctx, moved), ctx.store.open[moved.id]
    assert kept.updated_at == "2026-11-29T12:34:56.000Z" and kept.runtime_role is None
    assert lease.due == ctx.clock.now() + 1.0 and lease.attempt == 1 and lease.look is None
    assert record(ctx, other).runtime_role.status == "granted" and ctx.store.open[other.id].look
    monkeypatch.setattr(ctx.store, "update_and_schedule_each", each)
    tick(ctx, 1.0)
    assert record(ctx, moved).runtime_role.status == "already_present"


def crash(looks):
    raise RuntimeError("the process died before the look's writes")
