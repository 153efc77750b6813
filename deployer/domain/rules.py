"""Which agents a push goes to, and whether each should deploy it. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from deployer.domain.agents import AgentConfig, DeployerConfig
from deployer.domain.model import AgentState, Status
from deployer.domain.pushes import ImagePush
from deployer.domain.rollout import push_blocked
from deployer.domain.semver import parse_version


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """Deploy, or skip with a reason (``no_matching_rule``, ``tag_policy``, ``older_than_active``,
    ``unchanged``)."""

    deploy: bool
    reason: str | None = None


DEPLOY = Verdict(deploy=True)


@dataclass(frozen=True, kw_only=True)
class Route:
    """Where a push goes before any agent's state is read: the agents whose rule names it, or, when
    none is tried, the status and reason it is recorded with."""

    agents: tuple[AgentConfig, ...] = ()
    status: Status | None = None
    reason: str | None = None


def route(push: ImagePush, config: DeployerConfig) -> Route:
    """The registry must be allowed (the one the image would be pulled from: an allowed topic does
    not vouch for another request host), the push tagged, and some agent's rule name it."""
    if not config.allows_registry(push.registry):
        return Route(status="refused", reason="registry_not_allowed")
    if push.tag is None:
        return Route(status="ignored", reason="untagged")
    agents = agents_for(push, config)
    if not agents:
        return Route(status="skipped", reason="no_matching_rule")
    return Route(agents=agents)


def agents_for(push: ImagePush, config: DeployerConfig) -> tuple[AgentConfig, ...]:
    """The agents whose rule names the pushed repository (one push may fan out to several)."""
    return tuple(a for a in config.agents if a.matches_repository(push.registry, push.repository))


def tag_verdict(push: ImagePush, agent: AgentConfig) -> Verdict:
    """Whether the agent's tag policy accepts the pushed tag."""
    if push.tag is None or not agent.tags.accepts(push.tag):
        return Verdict(deploy=False, reason="tag_policy")
    return DEPLOY


def order_verdict(push: ImagePush, agent: AgentConfig, state: AgentState) -> Verdict:
    """Skip what is already active, and, under a semver policy, anything below the highest
    version already started (event deliveries arrive in no particular order)."""
    if state.active_digest is not None and state.active_digest == push.digest:
        return Verdict(deploy=False, reason="unchanged")
    if agent.tags.orders_versions and push.tag and state.high_tag:
        pushed, highest = parse_version(push.tag), parse_version(state.high_tag)
        if pushed is not None and highest is not None and pushed < highest:
            return Verdict(deploy=False, reason="older_than_active")
    return DEPLOY


def state_verdict(push: ImagePush, agent: AgentConfig, state: AgentState, *, ordered: bool = True) -> Verdict:
    """What the agent's row says of a push its tag policy accepts: ``paused``, ``held`` (its digest),
    then (``ordered``: pushes, not automatic promotions) :func:`order_verdict`."""
    blocked = push_blocked(state, push.digest)
    if blocked is not None:
        return Verdict(deploy=False, reason=blocked)
    return order_verdict(push, agent, state) if ordered else DEPLOY


def raised_high_tag(push: ImagePush, agent: AgentConfig, state: AgentState) -> str | None:
    """The agent's new highest started tag once this push starts (unchanged when lower)."""
    if not agent.tags.orders_versions or not push.tag:
        return state.high_tag
    pushed, highest = parse_version(push.tag), parse_version(state.high_tag or "")
    if pushed is not None and (highest is None or pushed > highest):
        return push.tag
    return state.high_tag


def image_to_deploy(push: ImagePush, agent: AgentConfig) -> str:
    """The reference the version is created with: by tag, or by digest with ``pin: digest``."""
    if agent.pin == "digest" and push.digest:
        return push.image_by_digest
    return push.image
