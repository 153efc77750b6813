"""Deployments by request (the HTTP API and the CLI): deploy an image, roll an agent back, and
show the configured agents.

A request is checked against the configuration (a *plan*) before anything is written; only then
is its Idempotency-Key taken and the deployment started, through the same
:func:`deployer.deploy.start.start_deployment` as every deployment, so it is recorded, tracked and
settled like a push. A manual deploy skips the tag policy and the order rule on purpose. A
rollback first tries to move the agent's traffic back to the version it goes back to
(:func:`deployer.deploy.rollback.rollback_by_traffic`: instant, no new version); only when that version
is gone is a new version of its image deployed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from deployer.context import Context
from deployer.deploy import idempotency
from deployer.deploy import rollback as traffic_rollback
from deployer.deploy.idempotency import IdempotencyKey
from deployer.deploy.requests import DeployRequest, RollbackRequest
from deployer.deploy.rollback import PAGE, SCAN_PAGES
from deployer.deploy.start import start_deployment
from deployer.domain.agents import AgentConfig
from deployer.domain.errors import PlatformError, Refused
from deployer.domain.imageref import ImageRef
from deployer.domain.model import AgentState, Deployment, Source, new_deployment_id
from deployer.domain.pushes import ImagePush

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Plan:
    """A checked request: what to deploy to which agent (with its overrides applied)."""

    agent: AgentConfig
    push: ImagePush
    source: Source
    reason: str | None
    #: A rollback: the deployment gone back to (its version may still take the traffic).
    target: Deployment | None = None


@dataclass(frozen=True, kw_only=True)
class Started:
    """The deployment a request started, or (``replayed``) the one an earlier request with the
    same Idempotency-Key started."""

    deployment: Deployment
    replayed: bool = False


@dataclass(frozen=True, kw_only=True)
class AgentOverview:
    """A configured agent, what the deployer knows of it, and its active deployment."""

    config: AgentConfig
    state: AgentState
    endpoint: str | None
    active: Deployment | None

    def to_json(self) -> dict[str, Any]:
        """The agent document: configuration without environment values (they may be secrets)."""
        agent, tags = self.config, self.config.tags
        return {
            "name": agent.name,
            "registry": agent.registry,
            "repository": agent.repository,
            "tags": tags.written,
            "allow_latest": tags.allow_latest,
            "pin": agent.pin,
            "cpu": agent.cpu,
            "memory": agent.memory,
            "protocols": dict(agent.protocols),
            "environment_variables": sorted(agent.environment_variables),
            "keep_versions": agent.keep_versions,
            "timeout_s": agent.timeout_s,
            "rollout": agent.rollout,
            "canary_steps": list(agent.canary.steps) if agent.canary else None,
            "paused": self.state.paused,
            "project_endpoint": self.endpoint,
            "high_tag": self.state.high_tag,
            "active": self.active.to_json() if self.active else None,
        }


def deploy(
    ctx: Context, request: DeployRequest, *, requested_by: str | None, key: IdempotencyKey | None
) -> Started:
    """Deploy ``request.image`` to the agent (``source: manual``)."""
    return _once(ctx, key, lambda: plan_deploy(ctx, request), requested_by)


def rollback(
    ctx: Context, request: RollbackRequest, *, requested_by: str | None, key: IdempotencyKey | None
) -> Started:
    """Go back to the agent's previous serving deployment, or the one ``request.to`` names
    (``source: rollback``): by traffic when its version is still active, else by deploying its
    image again."""
    return _once(ctx, key, lambda: plan_rollback(ctx, request), requested_by)


def agents(ctx: Context) -> list[AgentOverview]:
    """Every configured agent with its active deployment (two point reads each)."""
    found = []
    for agent in ctx.config.agents:
        state = ctx.store.get_agent(agent.name)
        active = ctx.store.get(state.active_id) if state.active_id else None
        endpoint = agent.project_endpoint or ctx.default_endpoint
        found.append(AgentOverview(config=agent, state=state, endpoint=endpoint, active=active))
    return found


def plan_deploy(ctx: Context, request: DeployRequest) -> Plan:
    """Check a deploy request against the configuration; refuse it with a problem otherwise."""
    agent = ctx.config.configured(request.agent)
    ref = request.image
    _check_registry(ctx, agent, ref)
    if ref.repository != agent.repository:
        raise Refused(
            "not-allowed-by-config",
            f"agent {agent.name} deploys images of repository {agent.repository}, not {ref.repository}",
        )
    unknown = sorted(set(request.environment_variables) - set(agent.environment_variables))
    if unknown:
        allowed = ", ".join(sorted(agent.environment_variables)) or "none"
        raise Refused(
            "not-allowed-by-config",
            f"environment_variables: {', '.join(unknown)} not configured for agent {agent.name}; "
            f"only configured variables can be overridden (configured: {allowed})",
        )
    env = {**agent.environment_variables, **request.environment_variables}
    push = ImagePush(registry=ref.registry, repository=ref.repository, tag=ref.tag, digest=ref.digest)
    return Plan(
        agent=replace(agent, environment_variables=env), push=push, source="manual", reason=request.reason
    )


def plan_rollback(ctx: Context, request: RollbackRequest) -> Plan:
    """Find the deployment to go back to and plan its image, pinned by digest where recorded so
    the very image that ran is deployed again even if its tag has moved since."""
    agent = ctx.config.configured(request.agent)
    target = _named_target(ctx, agent, request.to) if request.to else _previous_active(ctx, agent)
    ref = ImageRef.parse(target.image)
    _check_registry(ctx, agent, ref)
    digest = target.digest or ref.digest
    push = ImagePush(
        registry=ref.registry, repository=ref.repository, tag=target.tag or ref.tag, digest=digest
    )
    pinned = replace(agent, pin="digest") if digest else agent
    version = f" (version {target.version})" if target.version else ""
    reason = request.reason or f"rollback to deployment {target.id}{version}"
    return Plan(agent=pinned, push=push, source="rollback", reason=reason, target=target)


def start(
    ctx: Context, plan: Plan, *, requested_by: str | None, on_started: Callable[[str], None] | None = None
) -> Deployment:
    """Start the planned deployment. Its id is made here, so ``on_started`` hears it before
    anything is written. A rollback whose target version is still active moves the traffic back
    to it and creates nothing. If Foundry stays unavailable through the SDK's retries once the
    record is ``pending``, the poll finishes the work: the request is accepted."""
    deployment_id = new_deployment_id(ctx.clock.now())
    if on_started is not None:
        on_started(deployment_id)
    try:
        return _by_traffic(ctx, plan, requested_by, deployment_id) or start_deployment(
            ctx,
            plan.agent,
            plan.push,
            source=plan.source,
            requested_by=requested_by,
            deployment_id=deployment_id,
            reason=plan.reason,
        )
    except PlatformError:
        pending = ctx.store.get(deployment_id)
        if pending is None:
            raise
        return pending


def _by_traffic(ctx: Context, plan: Plan, requested_by: str | None, deployment_id: str) -> Deployment | None:
    if plan.source != "rollback" or plan.target is None:
        return None
    return traffic_rollback.rollback_by_traffic(
        ctx,
        plan.agent,
        plan.target,
        requested_by=requested_by,
        reason=plan.reason,
        deployment_id=deployment_id,
    )


def _once(
    ctx: Context, key: IdempotencyKey | None, plan_of: Callable[[], Plan], requested_by: str | None
) -> Started:
    if key is None:
        return Started(deployment=start(ctx, plan_of(), requested_by=requested_by))
    earlier = idempotency.earlier(ctx.store, key)
    if earlier is not None:
        return Started(deployment=earlier, replayed=True)
    plan = plan_of()  # a refused request takes no key: sent again once fixed, it is a new request
    token = idempotency.take(ctx.store, key)
    if token is None:
        return Started(deployment=_earlier_or_busy(ctx, key), replayed=True)
    started: list[str] = []

    def remember(deployment_id: str) -> None:
        started.append(deployment_id)
        idempotency.remember(ctx.store, key, deployment_id)

    try:
        return Started(deployment=start(ctx, plan, requested_by=requested_by, on_started=remember))
    except Exception:
        _release_unless_recorded(ctx, key, token, started[0] if started else None)
        raise


def _release_unless_recorded(
    ctx: Context, key: IdempotencyKey, token: str, deployment_id: str | None
) -> None:
    """After a failed start: if no deployment was recorded, free the key for a retry."""
    try:
        if deployment_id is None or ctx.store.get(deployment_id) is None:
            idempotency.release(ctx.store, key, token, deployment_id)
    except Exception:  # the store is failing too: the request's own error is the answer
        log.warning("could not release Idempotency-Key after a failed request", exc_info=True)


def _earlier_or_busy(ctx: Context, key: IdempotencyKey) -> Deployment:
    found = idempotency.earlier(ctx.store, key)
    assert found is not None  # the lock is taken, so earlier() returns a deployment or raises
    return found


def _check_registry(ctx: Context, agent: AgentConfig, ref: ImageRef) -> None:
    if not ctx.config.allows_registry(ref.registry):
        raise Refused(
            "registry-not-allowed",
            f"registry {ref.registry} is not in the allow-list ({', '.join(ctx.config.registries)}); "
            "add it to 'registries' in the deployer configuration to deploy from it",
        )
    if agent.registry is not None and agent.registry != ref.registry:
        raise Refused("not-allowed-by-config", f"agent {agent.name} deploys from {agent.registry} only")


def _previous_active(ctx: Context, agent: AgentConfig) -> Deployment:
    found = traffic_rollback.previous_serving(ctx, agent.name)
    if found is not None:
        return found
    raise Refused(
        "nothing-to-roll-back-to",
        f"agent {agent.name} has no earlier active deployment; name one with "
        '{"to": "<deployment id or version>"}',
    )


def _named_target(ctx: Context, agent: AgentConfig, to: str) -> Deployment:
    # Deployment ids are 19 characters (13 digits of inverted time, then hex); versions are short.
    found = _by_version(ctx, agent, to) if to.isdigit() and len(to) < 13 else ctx.store.get(to)
    if found is None or found.agent != agent.name:
        raise Refused(
            "not-found",
            f"agent {agent.name} has no deployment or version {to!r}; "
            f"see GET /api/deployments?agent={agent.name}",
        )
    if not found.was_serving:
        raise Refused(
            "nothing-to-roll-back-to",
            f"deployment {found.id} ended {found.status} and was never active or verified: name one that was",
        )
    return found


def _by_version(ctx: Context, agent: AgentConfig, version: str) -> Deployment | None:
    after = None
    for _ in range(SCAN_PAGES):
        page = ctx.store.list(agent=agent.name, limit=PAGE, after=after)
        found = next((d for d in page.items if d.version == version), None)
        if found is not None or page.next is None:
            return found
        after = page.next
    return None
