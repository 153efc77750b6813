"""The poll's steps for a ``canary`` deployment: its version passed its smoke test and takes
the agent's traffic step by step through the version selector, the rest on the ``stable``
version.

Every change is recorded first, with a conditional update, and then applied to the selector;
each look starts by making the selector match the record (read, write only if it differs), so
a crash anywhere converges on the next look. An abort records ``rolled_back`` (open work kept),
then gives the stable version all the traffic back and only then ends the open work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace

from deployer.context import Context, change_agent, retry_on_conflict
from deployer.domain import canary_plan, rollout, smoke
from deployer.domain.agents import AgentConfig, CanarySettings
from deployer.domain.clock import iso
from deployer.domain.errors import Conflict
from deployer.domain.model import AgentState, Deployment, DeploymentError
from deployer.domain.platform import Scheduled
from deployer.domain.rollout_state import CanaryState
from deployer.domain.smoke import FAILED_CODE, LEASE_MARGIN_S
from deployer.domain.transitions import backoff, newer
from deployer.notify import outbox
from deployer.rollout import approval_wait, holds, settle, traffic

log = logging.getLogger(__name__)


def begin(ctx: Context, agent: AgentConfig, d: Deployment, lease: Scheduled, now: float) -> bool:
    """``d``'s smoke test passed: abort an older canary of the agent, then start this one and
    take its first step. ``False`` when a canary makes no sense (no single stable version serves,
    or the traffic was routed by hand): the caller promotes as a verified rollout does."""
    assert d.version is not None
    abort_older(ctx, agent, d)
    endpoint = ctx.endpoint_of(agent, d)
    current = traffic.resolved(ctx, endpoint, d.agent, ctx.platform.get_traffic(endpoint, d.agent))
    stable = rollout.sole_version(current)
    decision = rollout.promotion(current, version=d.version, before=d.traffic_before)
    if decision != "move" or stable is None or stable == d.version:
        return False
    note = f"canary: steps {list(_settings(agent).steps)}, the rest on version {stable}"
    d = ctx.store.update(d.moved_to("canary", iso(now), note=note, canary=CanaryState(stable=stable)))
    _mark_agent(ctx, d.agent, lambda s: replace(s, canary_id=d.id))
    d = outbox.flush(ctx, d)
    if _gate_open(ctx, agent, d, lease, now):
        _shift(ctx, agent, d, lease, now)
    return True


def step(ctx: Context, agent: AgentConfig, d: Deployment, lease: Scheduled, now: float) -> None:
    """One look at a canary: converge the selector on the record, then settle, finish, wait,
    or re-run the smoke test and take the next step (or abort)."""
    assert d.canary is not None
    if settle.retire_if_superseded(ctx, agent, d, ctx.store.get_agent(d.agent)):
        _unmark(ctx, d)
        return
    _apply(ctx, agent, d)
    move = canary_plan.next_move(d.canary, now=now)
    if move == "settle":
        _settle(ctx, agent, d)
    elif move == "finish":
        _finish(ctx, agent, d, now)
    elif move == "wait":
        ctx.store.schedule(replace(lease, due=d.canary.next_at))
    elif _gate_open(ctx, agent, d, lease, now):
        _smoke_then_shift(ctx, agent, d, lease, now)


def _gate_open(ctx: Context, agent: AgentConfig, d: Deployment, lease: Scheduled, now: float) -> bool:
    """Whether the next step may be taken: not when it waits for approval (``{approve: true}``);
    a rejected or expired approval rolls the canary back (its digest not held)."""
    verdict = approval_wait.gate(ctx, agent, d, lease, now)
    if verdict in ("approval_rejected", "approval_expired"):
        abort_deployment(ctx, agent, d, reason=verdict, hold=False)
    return verdict == "go"


def _smoke_then_shift(ctx: Context, agent: AgentConfig, d: Deployment, lease: Scheduled, now: float) -> None:
    assert d.canary is not None and d.version is not None
    test = agent.smoke_test
    if test is not None:
        lease = ctx.store.schedule(replace(lease, due=now + test.timeout_s + LEASE_MARGIN_S))
        reply = ctx.platform.invoke(ctx.endpoint_of(agent, d), d.agent, smoke.request_for(test, d.version))
        result = smoke.after_attempt(None, smoke.judge(test, reply, version=d.version), reply, attempts=1)
        state = canary_plan.after_smoke(d.canary, passed=result.status == "passed")
        d = ctx.store.update(replace(d, smoke=result, canary=state))
        log.info("deployment %s: canary smoke re-run at %d%%: %s", d.id, state.percentage, result.status)
        if result.status != "passed":
            if canary_plan.must_abort(state, _settings(agent)):
                abort_deployment(ctx, agent, d, reason=FAILED_CODE, hold=agent.on_smoke_failure == "rollback")
            else:
                ctx.store.schedule(replace(lease, due=now + backoff(state.smoke_failures - 1)))
            return
    _shift(ctx, agent, d, lease, now)


def _shift(ctx: Context, agent: AgentConfig, d: Deployment, lease: Scheduled, now: float) -> None:
    """Record the next step, then apply it to the selector, notify, and look again when due."""
    assert d.canary is not None and d.version is not None
    state = canary_plan.after_step(d.canary, _settings(agent), now=now)
    note = canary_plan.describe(d.version, state.stable, state.percentage)
    d = ctx.store.update(d.shifted(state.percentage, iso(now), note=note, canary=state))
    log.info("deployment %s: %s canary step: %s", d.id, d.agent, note)
    _apply(ctx, agent, d)
    d = outbox.flush(ctx, d)
    if _aborted_meanwhile(ctx, agent, d):
        return
    if state.percentage >= 100:
        _settle(ctx, agent, d)
    else:
        ctx.store.schedule(replace(lease, due=state.next_at, attempt=0))


def _finish(ctx: Context, agent: AgentConfig, d: Deployment, now: float) -> None:
    """A person promoted the canary: record 100% (skipping the remaining steps) and settle."""
    assert d.canary is not None and d.version is not None
    state = replace(d.canary, step=len(_settings(agent).steps) - 1, percentage=100)
    by = f" (promoted by {d.canary.promoted_by})" if d.canary.promoted_by else " (promoted)"
    note = canary_plan.describe(d.version, state.stable, 100) + by
    d = ctx.store.update(d.shifted(100, iso(now), note=note, canary=state))
    _apply(ctx, agent, d)
    d = outbox.flush(ctx, d)
    if not _aborted_meanwhile(ctx, agent, d):
        _settle(ctx, agent, d)


def _settle(ctx: Context, agent: AgentConfig, d: Deployment) -> None:
    note = f"canary complete: version {d.version} has all the traffic"
    settle.settle(ctx, agent, d, status="verified", note=note)
    _unmark(ctx, d)


def abort_deployment(
    ctx: Context, agent: AgentConfig, d: Deployment, *, reason: str, hold: bool, by: str | None = None
) -> Deployment:
    """Abort ``d``'s canary: record ``rolled_back`` (its digest held when ``hold``), then give
    the stable version all the traffic back (:func:`finish_abort`)."""
    assert d.canary is not None
    held = d.digest if hold else None
    if held:
        holds.hold(ctx, d.agent, held, reason=reason, by=by, deployment_id=d.id)
    message = _abort_message(d, reason, by) + _held_note(held, hold=hold)
    error = DeploymentError(code=reason, message=message, hint=_hint(reason))
    done = ctx.store.update(
        d.moved_to("rolled_back", iso(ctx.clock.now()), reason=reason, error=error, note=error.message)
    )
    log.warning("deployment %s: %s canary rolled back: %s", d.id, d.agent, error.message)
    return finish_abort(ctx, agent, done)


def finish_abort(ctx: Context, agent: AgentConfig, d: Deployment) -> Deployment:
    """Give the stable version all the traffic if the aborted version still takes some, notify,
    and end the open work. Safe to repeat (the poll calls it for a ``rolled_back`` record)."""
    stable = d.canary.stable if d.canary else rollout.sole_version(d.traffic_before or ())
    endpoint = ctx.endpoint_of(agent, d)
    if stable and d.version:
        current = traffic.resolved(ctx, endpoint, d.agent, ctx.platform.get_traffic(endpoint, d.agent))
        back = canary_plan.abort_traffic(current, version=d.version, stable=stable)
        if back is not None:
            ctx.platform.set_traffic(endpoint, d.agent, back)
            log.info("deployment %s: %s traffic back to version %s", d.id, d.agent, stable)
    d = outbox.flush(ctx, d)
    _unmark(ctx, d)
    ctx.store.unschedule(d.id)
    return d


def abort_older(ctx: Context, agent: AgentConfig, d: Deployment, *, state: AgentState | None = None) -> None:
    """A newer deployment ``d`` starts: the agent's unfinished canary (an older one) is aborted to
    its stable version first, its digest not held (nothing was wrong with it). ``state``: the
    agent row as just written (for the first attempt only)."""
    known = [state] if state is not None else []

    def attempt() -> None:
        canary_id = (known.pop() if known else ctx.store.get_agent(d.agent)).canary_id
        other = ctx.store.get(canary_id) if canary_id and canary_id != d.id else None
        if other is not None and other.status == "canary" and newer(d.id, other.id):
            abort_deployment(ctx, agent, other, reason="superseded_by_newer_deployment", hold=False)

    with suppress(Conflict):  # five lost races: the newer deployment goes ahead regardless
        retry_on_conflict(attempt, gave_up=f"agent {d.agent}: the older canary is changing")


def _apply(ctx: Context, agent: AgentConfig, d: Deployment) -> None:
    """Make the selector show the split the record says (read, write only if it differs)."""
    assert d.canary is not None and d.version is not None
    want = canary_plan.split(d.version, d.canary.stable, d.canary.percentage)
    endpoint = ctx.endpoint_of(agent, d)
    if d.canary.percentage > 0 and ctx.platform.get_traffic(endpoint, d.agent) != want:
        ctx.platform.set_traffic(endpoint, d.agent, want)


def _aborted_meanwhile(ctx: Context, agent: AgentConfig, d: Deployment) -> bool:
    """After writing the selector: if an abort was recorded meanwhile, converge on it."""
    fresh = ctx.store.get(d.id)
    if fresh is not None and fresh.status == "rolled_back":
        finish_abort(ctx, agent, fresh)
        return True
    return False


def _unmark(ctx: Context, d: Deployment) -> None:
    _mark_agent(ctx, d.agent, lambda s: replace(s, canary_id=None) if s.canary_id == d.id else None)


def _mark_agent(ctx: Context, agent: str, change: Callable[[AgentState], AgentState | None]) -> None:
    """Record on the agent's row which deployment is its canary; a step never fails on it."""
    with suppress(Conflict):
        change_agent(ctx, agent, change)


def _settings(agent: AgentConfig) -> CanarySettings:
    return agent.canary or CanarySettings()


def _abort_message(d: Deployment, reason: str, by: str | None) -> str:
    assert d.canary is not None
    why = {
        FAILED_CODE: f"the smoke test failed at {d.canary.percentage}% ({d.smoke.detail if d.smoke else ''})",
        "superseded_by_newer_deployment": "a newer deployment of the agent started",
        "aborted": f"aborted by {by or 'a person'}",
        "approval_rejected": f"the next step was rejected by {d.approval.by if d.approval else 'a person'}",
        "approval_expired": "nobody approved the next step in time",
    }.get(reason, reason)
    return f"canary of version {d.version} stopped: {why}; all traffic back on version {d.canary.stable}"


def _held_note(held: str | None, *, hold: bool) -> str:
    """What an abort held, in words (nothing is said when it was not to hold anything)."""
    if held:
        return f"; its digest {held} is held: pushes of it are skipped until the hold is released"
    return "; nothing held: the deployment's digest is not known" if hold else ""


def _hint(reason: str) -> str | None:
    if reason == FAILED_CODE:
        return "Check the version's logs in the Foundry portal and the smoke reply on the deployment."
    return None
