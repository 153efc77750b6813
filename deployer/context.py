"""What every service function needs: the configuration and the ports, and the two mechanics of
conditional writes every service shares: trying again after a lost race (:func:`retry_on_conflict`)
and changing the agent's row (:func:`change_agent`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from deployer.domain.agents import AgentConfig, DeployerConfig
from deployer.domain.errors import Conflict
from deployer.domain.model import AgentState, Deployment
from deployer.ports import AgentPlatform, Clock, DeploymentStore, ImageRegistry, RoleAssignments

T = TypeVar("T")
#: How often a conditional write that lost a race is tried again, from a fresh read, before the
#: caller hears :class:`Conflict` (the API answers ``busy``; the poll looks again shortly).
RACES = 5


@dataclass(frozen=True, kw_only=True)
class Context:
    """The configuration and ports, built once by the composition root (or by a test)."""

    config: DeployerConfig
    store: DeploymentStore
    platform: AgentPlatform
    clock: Clock
    default_endpoint: str | None
    #: Role assignments through ARM (the runtime role of agent identities); ``None``: grants fail.
    roles: RoleAssignments | None = None
    #: The registries images are checked in before a version is created (``registry_check``);
    #: ``None`` only where a test exercises other steps: the app always has one.
    registry: ImageRegistry | None = None

    def endpoint_for(self, agent: AgentConfig) -> str:
        endpoint = agent.project_endpoint or self.default_endpoint
        if not endpoint:
            raise LookupError(
                f"agent {agent.name!r} has no project_endpoint and FOUNDRY_PROJECT_ENDPOINT is not set"
            )
        return endpoint

    def endpoint_of(self, agent: AgentConfig, d: Deployment) -> str:
        """The project endpoint of ``d``'s version: the one it was created in (a promotion may
        name another project), else the agent's."""
        return d.project_endpoint or self.endpoint_for(agent)


def retry_on_conflict(attempt: Callable[[], T], *, gave_up: str) -> T:
    """Run ``attempt`` (which reads what it writes) until it does not lose a race, at most
    :data:`RACES` times; then raise :class:`Conflict` with ``gave_up``."""
    for _ in range(RACES):
        try:
            return attempt()
        except Conflict:
            continue
    raise Conflict(gave_up)


def change_agent(ctx: Context, agent: str, change: Callable[[AgentState], AgentState | None]) -> AgentState:
    """Apply ``change`` to the agent's row with a conditional write, from a fresh read after each
    lost race. ``change`` returns ``None`` (or the row as it is) for nothing to write."""

    def attempt() -> AgentState:
        state = ctx.store.get_agent(agent)
        changed = change(state)
        if changed is None or changed == state:
            return state
        return ctx.store.save_agent(changed)

    return retry_on_conflict(
        attempt, gave_up=f"agent {agent} is being updated by too many requests at once; retry"
    )
