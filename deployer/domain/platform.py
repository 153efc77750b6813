"""The values that cross the ports: what a version is created with and reported as, one call to an
agent's endpoint, the open-work index's entries and a page of records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from deployer.domain.model import Deployment

#: The metadata key that carries the deployment id on every version the deployer creates.
DEPLOYMENT_ID_KEY = "deployer_deployment_id"
#: The protocols a hosted agent can serve, and a smoke test can call it by.
AgentProtocol = Literal["responses", "invocations"]


@dataclass(frozen=True, kw_only=True)
class QuietLook:
    """What a look at a creating version needs while nothing else is pending on its record (its
    runtime role settled, no notification to flush): kept on the open-work entry, so that such a
    look reads no record and writes only the entry."""

    agent: str
    version: str
    endpoint: str
    began_at: float
    expected_active_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class Scheduled:
    """An entry of the open-work index: a deployment the poll must look at after ``due``."""

    deployment_id: str
    due: float
    attempt: int = 0
    etag: str | None = field(default=None, compare=False)
    look: QuietLook | None = field(default=None, compare=False)


@dataclass(frozen=True, kw_only=True)
class Page:
    items: Sequence[Deployment]
    next: str | None


@dataclass(frozen=True, kw_only=True)
class VersionSpec:
    """What a new agent version is created with."""

    image: str
    cpu: str
    memory: str
    protocols: Mapping[str, str]
    environment_variables: Mapping[str, str]
    metadata: Mapping[str, str]


@dataclass(frozen=True, kw_only=True)
class VersionInfo:
    """A version as the platform reports it."""

    version: str
    status: str
    image: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None
    created_at: float | None = None
    #: The version's ``instance_identity.principal_id`` (its Entra agent identity), once reported.
    principal_id: str | None = None
    #: A draft version: never what the selector's ``@latest`` names.
    draft: bool = False


@dataclass(frozen=True, kw_only=True)
class InvokeRequest:
    """One call to an agent's endpoint, addressed to one ``version`` (not routed by its selector).
    ``payload``: the Responses input text, or the Invocations request body."""

    version: str
    protocol: AgentProtocol
    payload: str | Mapping[str, object]
    timeout_s: float


@dataclass(frozen=True, kw_only=True)
class InvokeReply:
    """What the endpoint answered: its HTTP status and body text, or (``status_code`` ``None``)
    the ``error`` that prevented an answer (a timeout, a refused connection)."""

    status_code: int | None
    body: str
    latency_ms: float
    error: str | None = None


def version_number(version: str) -> int:
    """A version's number, for ordering: Foundry numbers versions "1", "2", ...; anything else
    sorts before them."""
    return int(version) if version.isdigit() else -1
