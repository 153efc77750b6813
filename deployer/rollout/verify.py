"""The poll's step for a ``verifying`` deployment (``rollout: verified``): its version is active
on the platform and its identity holds its role, but the agent's traffic is still pinned to the
version that served before.

Each look makes at most one smoke-test attempt against that version (addressed by
``agent_reference``, whatever the selector says) and records it on the deployment
(``smoke``); retries ride on the poll, one attempt per look. On pass, the traffic moves to the
new version and the deployment is ``verified``; once the attempts are spent, it is
``unhealthy``, the traffic is not touched, and (``on_smoke_failure: rollback``) its digest is
held. A newer deployment that serves first supersedes it. A crash anywhere repeats the step:
the smoke result is on the record, the selector is read before it is written.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from deployer.context import Context
from deployer.domain import rollout, smoke
from deployer.domain.agents import AgentConfig
from deployer.domain.clock import iso
from deployer.domain.model import Deployment, DeploymentError
from deployer.domain.platform import Scheduled
from deployer.domain.rollout_state import SmokeResult
from deployer.domain.smoke import FAILED_CODE, LEASE_MARGIN_S
from deployer.domain.transitions import backoff
from deployer.notify import outbox
from deployer.rollout import canary, holds, settle, traffic

log = logging.getLogger(__name__)
_NOTES = {
    "move": "smoke test passed; traffic moved to version {v}",
    "done": "smoke test passed; version {v} already had the traffic",
    "leave": "smoke test passed; traffic left as routed outside the deployer",
}


def begin(ctx: Context, agent: AgentConfig, d: Deployment, lease: Scheduled, now: float) -> None:
    """The version came up: record ``verifying`` and take the first step at once."""
    d = outbox.flush(ctx, ctx.store.update(d.moved_to("verifying", iso(now))))
    step(ctx, agent, d, lease, now)


def step(ctx: Context, agent: AgentConfig, d: Deployment, lease: Scheduled, now: float) -> None:
    """One look: retire ``d`` if a newer deployment serves, else make one smoke attempt if the
    test is still running, then promote, mark unhealthy, or look again shortly."""
    if settle.retire_if_superseded(ctx, agent, d, ctx.store.get_agent(d.agent)):
        return
    if d.smoke is None or d.smoke.status == "running":
        d, lease = _attempt(ctx, agent, d, lease, now)
        assert d.smoke is not None
        if d.smoke.status == "running":
            due = ctx.clock.now() + backoff(d.smoke.attempts - 1)
            ctx.store.schedule(replace(lease, due=due, attempt=lease.attempt + 1))
            return
        if settle.retire_if_superseded(ctx, agent, d, ctx.store.get_agent(d.agent)):
            return
    assert d.smoke is not None
    if d.smoke.status == "passed":
        _promote(ctx, agent, d, lease, now)
    else:
        _unhealthy(ctx, agent, d)


def _attempt(
    ctx: Context, agent: AgentConfig, d: Deployment, lease: Scheduled, now: float
) -> tuple[Deployment, Scheduled]:
    test = agent.smoke_test
    assert d.version is not None
    if test is None:  # the agent's smoke test was removed from the configuration meanwhile
        result = SmokeResult(status="passed", attempts=0, detail="no smoke test configured")
        return ctx.store.update(replace(d, smoke=result)), lease
    # The lease must outlast the attempt, or another tick could start a second one.
    lease = ctx.store.schedule(replace(lease, due=now + test.timeout_s + LEASE_MARGIN_S))
    endpoint = ctx.endpoint_of(agent, d)
    reply = ctx.platform.invoke(endpoint, d.agent, smoke.request_for(test, d.version))
    result = smoke.after_attempt(
        d.smoke, smoke.judge(test, reply, version=d.version), reply, attempts=test.attempts
    )
    log.info(
        "deployment %s: smoke test of %s version %s attempt %d: %s%s",
        d.id,
        d.agent,
        d.version,
        result.attempts,
        result.status,
        f" ({result.detail})" if result.detail else "",
    )
    return ctx.store.update(replace(d, smoke=result)), lease


def _promote(ctx: Context, agent: AgentConfig, d: Deployment, lease: Scheduled, now: float) -> None:
    if d.rollout == "canary" and canary.begin(ctx, agent, d, lease, now):
        return
    decision = traffic.promote(ctx, agent, d)
    settle.settle(ctx, agent, d, status="verified", note=_NOTES[decision].format(v=d.version))


def _unhealthy(ctx: Context, agent: AgentConfig, d: Deployment) -> None:
    assert d.smoke is not None
    held = d.digest if agent.on_smoke_failure == "rollback" else None
    if held:
        holds.hold(ctx, d.agent, held, reason=FAILED_CODE, deployment_id=d.id)
    error = DeploymentError(code=FAILED_CODE, message=failure_message(d), hint=failure_hint(agent, held))
    now = ctx.clock.now()
    done = ctx.store.update(d.moved_to("unhealthy", iso(now), reason=FAILED_CODE, error=error))
    outbox.flush(ctx, done)
    ctx.store.unschedule(d.id)
    log.warning("deployment %s: %s version %s unhealthy: %s", d.id, d.agent, d.version, error.message)


def failure_message(d: Deployment) -> str:
    """What failed and where the traffic stayed."""
    assert d.smoke is not None
    serving = rollout.sole_version(d.traffic_before or ())
    stayed = f"traffic stayed on version {serving}" if serving else "traffic was not moved"
    return (
        f"the smoke test of version {d.version} failed {d.smoke.attempts} time(s), last: "
        f"{d.smoke.detail or 'failed'}; {stayed}"
    )


def failure_hint(agent: AgentConfig, held: str | None) -> str:
    """What to do about a failed smoke test, and what was held (``held``: the digest)."""
    if held:
        held = f" Its digest {held} is held: pushes of it are skipped until the hold is released."
    elif agent.on_smoke_failure == "rollback":
        held = " Nothing was held: the deployment's digest is not known."
    else:
        held = ""
    return (
        "The version is up but did not answer the smoke test as expected: check its logs in the "
        f"Foundry portal and the reply excerpt on the deployment, then push a fixed image.{held}"
    )
