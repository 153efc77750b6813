"""What a person asks the deployer for (through the HTTP API or the CLI), read into frozen values
by ``deployer.entrypoints.http.requests`` before any service runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from deployer.domain.imageref import ImageRef


@dataclass(frozen=True, kw_only=True)
class DeployRequest:
    """``POST /api/deployments``."""

    agent: str
    image: ImageRef
    environment_variables: Mapping[str, str] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class RollbackRequest:
    """``POST /api/agents/{agent}/rollback``: ``to`` is a deployment id or a version, or ``None``
    for the deployment that was active before the current one."""

    agent: str
    to: str | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class PromoteRequest:
    """``POST /api/agents/{agent}/promote``: deploy ``agent``'s verified image to ``to``."""

    agent: str
    to: str
