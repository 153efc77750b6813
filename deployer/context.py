"""What every service function needs: the configuration and the ports."""

from __future__ import annotations

from dataclasses import dataclass

from deployer.config.parser import AgentConfig, DeployerConfig
from deployer.ports import AgentPlatform, Clock, DeploymentStore, ImageRegistry, RoleAssignments


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
