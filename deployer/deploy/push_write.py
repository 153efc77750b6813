"""A push's one write: its two idempotency keys, the agent row (conditional on the state its
rules were checked against), the ``pending`` record and its open-work entry, as one atomic
write (``DeploymentStore.begin``). The rules are first checked against the agent row as this
process last saw it (no read when it wrote the row last); a row changed since fails the write,
which is then tried once more against the row as read. The image lookup is begun on the way
(``image_check.begin``), so that it and the write overlap.
"""

from __future__ import annotations

from dataclasses import replace

from deployer.context import Context
from deployer.deploy import approval, image_check
from deployer.domain import rollout, rules
from deployer.domain.agents import AgentConfig
from deployer.domain.clock import iso
from deployer.domain.errors import Conflict
from deployer.domain.model import AgentState, Deployment
from deployer.domain.platform import Scheduled
from deployer.domain.pushes import ImagePush
from deployer.domain.transitions import FIRST_DELAY_S, expected_active_s

Written = tuple[Deployment, AgentState, image_check.Lookup | None]


def write_at_once(ctx: Context, agent: AgentConfig, push: ImagePush, record: Deployment) -> Written | None:
    """The pending record as written, the agent row it was judged against and its image lookup
    under way; ``None`` when the rules skip the push, the agent wants an approval first, or a
    row is there already (a redelivery, a duplicate, a concurrent push for the agent): nothing
    is written, and the step-by-step path decides those."""
    lookup = None
    for read in (ctx.store.last_seen_agent, ctx.store.get_agent):
        state = read(agent.name)
        judged = expecting(record, state)
        if not _deploys_at_once(agent, push, judged, state):
            return None
        lookup = lookup or image_check.begin(ctx, agent, judged)
        pending = _write(ctx, agent, push, judged, state)
        if pending is not None:
            return pending, state, lookup
    return None


def expecting(record: Deployment, state: AgentState) -> Deployment:
    """The record with the time its version is expected to take, from the agent's history."""
    return replace(record, expected_active_s=expected_active_s(state.took_s))


def event_key(push: ImagePush, agent: AgentConfig) -> str:
    return f"event|{push.event_id}|{agent.name}"


def push_key(push: ImagePush, agent: AgentConfig) -> str:
    return f"push|{agent.name}|{push.digest}|{push.tag}"


def _deploys_at_once(agent: AgentConfig, push: ImagePush, record: Deployment, state: AgentState) -> bool:
    return (
        rules.tag_verdict(push, agent).deploy
        and rollout.push_blocked(state, push.digest) is None
        and rules.order_verdict(push, agent, state).deploy
        and approval.policy_for(agent, record) is None
    )


def _write(
    ctx: Context, agent: AgentConfig, push: ImagePush, record: Deployment, state: AgentState
) -> Deployment | None:
    now = ctx.clock.now()
    try:
        return ctx.store.begin(
            record.moved_to("pending", iso(now)),
            # Due when the version will first be looked at: after create_version only the record
            # changes. Should this process die first, the poll finds the record pending and looks
            # again until it may be reconciled (``poll._reconcile``).
            Scheduled(deployment_id=record.id, due=now + FIRST_DELAY_S),
            claims={event_key(push, agent): record.id, push_key(push, agent): record.id},
            agent=replace(state, high_tag=rules.raised_high_tag(push, agent, state)),
        )
    except Conflict:
        return None
