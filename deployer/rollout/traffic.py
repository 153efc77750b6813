"""The agent's traffic through its version selector (``AgentPlatform.get_traffic`` /
``set_traffic``), as the decisions in ``deployer.domain.rollout`` say.

No step keeps state of its own: each reads the selector and writes only what differs, so a
crash between moving traffic and recording it converges when the poll repeats the step. A rule
naming ``@latest`` is read as the version it names now (``rollout.resolve``); every routing the
deployer writes names versions by number.
"""

from __future__ import annotations

import logging

from deployer.context import Context
from deployer.domain import rollout
from deployer.domain.agents import AgentConfig
from deployer.domain.model import Deployment
from deployer.domain.platform import DEPLOYMENT_ID_KEY
from deployer.domain.rollout import Promotion
from deployer.domain.rollout_state import Traffic

log = logging.getLogger(__name__)


def pin_before_create(ctx: Context, agent: AgentConfig, d: Deployment) -> Traffic:
    """Keep the agent's traffic on the version that serves now before ``d``'s version is made;
    return the selector as left (recorded on the deployment as ``traffic_before``)."""
    endpoint = ctx.endpoint_of(agent, d)
    current = ctx.platform.get_traffic(endpoint, d.agent)
    needs_versions = not current or rollout.names_latest(current)
    versions = ctx.platform.list_versions(endpoint, d.agent) if needs_versions else []
    plan = rollout.pin(current, versions, exclude_owner=d.id, owner_key=DEPLOYMENT_ID_KEY)
    if plan.write:
        ctx.platform.set_traffic(endpoint, d.agent, plan.traffic)
        log.info("deployment %s: %s traffic pinned to version %s", d.id, d.agent, plan.traffic[0].version)
    return plan.traffic


def promote(ctx: Context, agent: AgentConfig, d: Deployment) -> Promotion:
    """After ``d``'s smoke test passed: give its version all the traffic unless someone else
    routed it since the pin (then leave it). Returns what was decided."""
    assert d.version is not None
    endpoint = ctx.endpoint_of(agent, d)
    current = ctx.platform.get_traffic(endpoint, d.agent)
    routed = resolved(ctx, endpoint, d.agent, current)
    decision = rollout.promotion(routed, version=d.version, before=d.traffic_before)
    if decision == "move" or (decision == "done" and routed != current):  # numbers, not @latest
        ctx.platform.set_traffic(endpoint, d.agent, rollout.all_to(d.version))
        log.info("deployment %s: %s traffic moved to version %s", d.id, d.agent, d.version)
    elif decision == "leave":
        log.warning("deployment %s: %s traffic was routed outside the deployer; left as is", d.id, d.agent)
    return decision


def move_to(ctx: Context, agent: AgentConfig, d: Deployment) -> None:
    """Give ``d``'s version all the traffic (a rollback by traffic), unless it has it already."""
    assert d.version is not None
    endpoint = ctx.endpoint_of(agent, d)
    if ctx.platform.get_traffic(endpoint, d.agent) != rollout.all_to(d.version):
        ctx.platform.set_traffic(endpoint, d.agent, rollout.all_to(d.version))
        log.info("deployment %s: %s traffic moved to version %s", d.id, d.agent, d.version)


def ensure_immediate(ctx: Context, agent: AgentConfig, d: Deployment) -> None:
    """``rollout: immediate``: if a version selector (left by a verified rollout or a rollback)
    would keep the new active version dark, give it all the traffic."""
    if d.version is None:
        return
    endpoint = ctx.endpoint_of(agent, d)
    if rollout.immediate_needs_move(ctx.platform.get_traffic(endpoint, d.agent), version=d.version):
        ctx.platform.set_traffic(endpoint, d.agent, rollout.all_to(d.version))
        log.info("deployment %s: %s traffic moved to version %s (immediate)", d.id, d.agent, d.version)


def hand_back(ctx: Context, agent: AgentConfig, d: Deployment, *, active_version: str | None) -> None:
    """``d`` turned out superseded: if it holds all the traffic, give it to the active version."""
    if d.version is None:
        return
    endpoint = ctx.endpoint_of(agent, d)
    back = rollout.hand_back(
        ctx.platform.get_traffic(endpoint, d.agent), ours=d.version, active_version=active_version
    )
    if back is not None:
        ctx.platform.set_traffic(endpoint, d.agent, back)
        log.info("deployment %s: %s traffic handed back to version %s", d.id, d.agent, active_version)


def routed_versions(ctx: Context, agent: AgentConfig, d: Deployment) -> set[str]:
    """The versions the agent's selector routes to, ``@latest`` as the version it names
    (retention never deletes them)."""
    endpoint = ctx.endpoint_of(agent, d)
    current = ctx.platform.get_traffic(endpoint, d.agent)
    return {rule.version for rule in resolved(ctx, endpoint, d.agent, current)}


def resolved(ctx: Context, endpoint: str, agent: str, current: Traffic) -> Traffic:
    """``current`` with ``@latest`` as the version it names now (listing the versions only when a
    rule names it); empty when it names none."""
    if not rollout.names_latest(current):
        return current
    return rollout.resolve(current, ctx.platform.list_versions(endpoint, agent)) or ()


def serve_protocols(ctx: Context, agent: AgentConfig, d: Deployment) -> None:
    """Make the agent's endpoint serve the protocols its configuration declares, keeping those it
    serves (a new endpoint serves responses only, so an Invocations agent would not answer)."""
    endpoint = ctx.endpoint_of(agent, d)
    wanted = rollout.protocols_to_serve(ctx.platform.get_protocols(endpoint, d.agent), agent.protocols)
    if wanted is not None:
        ctx.platform.set_protocols(endpoint, d.agent, wanted)
        log.info("deployment %s: %s endpoint serves %s", d.id, d.agent, ", ".join(sorted(wanted)))
