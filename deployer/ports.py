"""The ports the services use: storage of deployments, the Foundry platform and the container
registry. Adapters live in ``deployer/adapters``; tests use hand-written fakes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from deployer.domain.images import ImageFacts
from deployer.domain.model import AgentState, Deployment
from deployer.domain.roles import RoleAssignment
from deployer.domain.rollout_state import Traffic
from deployer.notify.ports import NotificationStore


class Conflict(Exception):
    """A conditional write lost: the entity exists already, or changed since it was read."""


@dataclass(frozen=True, kw_only=True)
class Scheduled:
    """An entry of the open-work index: a deployment the poll must look at after ``due``."""

    deployment_id: str
    due: float
    attempt: int = 0
    etag: str | None = field(default=None, compare=False)


@dataclass(frozen=True, kw_only=True)
class Page:
    items: Sequence[Deployment]
    next: str | None


class DeploymentStore(NotificationStore, Protocol):
    """Durable deployment records, idempotency keys, agent rows and the open-work index, and
    the notification outbox beside them (one table: :class:`NotificationStore`)."""

    def claim(self, key: str, owner: str) -> str:
        """Insert ``key`` -> ``owner`` if absent; return the owner on record (ours or an earlier one)."""

    def claimed(self, key: str) -> str | None:
        """The owner on record for ``key``, or ``None``: a read that never inserts."""

    def ping(self, timeout_s: float) -> None:
        """One cheap read within ``timeout_s``, no retries; raise if the storage does not answer."""

    def add(self, deployment: Deployment) -> Deployment:
        """Insert a new record; raise :class:`Conflict` if the id exists."""

    def get(self, deployment_id: str) -> Deployment | None: ...

    def update(self, deployment: Deployment) -> Deployment:
        """Replace the record if its ETag still matches; raise :class:`Conflict` otherwise."""

    def get_agent(self, name: str) -> AgentState:
        """The agent's row, or an empty state (no ETag) when there is none yet."""

    def save_agent(self, state: AgentState) -> AgentState:
        """Insert (no ETag) or replace (ETag must match) the agent's row; :class:`Conflict` if lost."""

    def schedule(self, entry: Scheduled) -> Scheduled:
        """Upsert the open-work entry (or, with an ETag, replace it only if unchanged)."""

    def due(self, now: float, limit: int) -> list[Scheduled]:
        """Open-work entries due at ``now``: reads only the open-work index."""

    def unschedule(self, deployment_id: str) -> None: ...

    def list(
        self,
        *,
        agent: str | None = None,
        status: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page: ...


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


@dataclass(frozen=True, kw_only=True)
class InvokeRequest:
    """One call to an agent's endpoint, addressed to one ``version`` (not routed by its selector).
    ``payload``: the Responses input text, or the Invocations request body."""

    version: str
    protocol: Literal["responses", "invocations"]
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


class PlatformError(Exception):
    """Foundry (or the container registry) refused or failed a call. ``retryable`` is true for
    throttling, 5xx errors and an unreachable service, once the SDK's own retries are spent."""

    def __init__(self, *, code: str, message: str, status_code: int | None, retryable: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status_code = status_code
        self.retryable = retryable


class AgentPlatform(Protocol):
    """The Foundry Agent Service, per project endpoint."""

    def create_version(self, endpoint: str, agent: str, spec: VersionSpec) -> VersionInfo: ...

    def get_version(self, endpoint: str, agent: str, version: str) -> VersionInfo: ...

    def list_versions(self, endpoint: str, agent: str) -> list[VersionInfo]: ...

    def delete_version(self, endpoint: str, agent: str, version: str) -> None: ...

    def get_traffic(self, endpoint: str, agent: str) -> Traffic:
        """The agent's version-selector rules (empty: none, or no such agent)."""

    def set_traffic(self, endpoint: str, agent: str, traffic: Traffic) -> None:
        """Replace the agent's version-selector rules (a merge-patch of the agent's endpoint)."""

    def invoke(self, endpoint: str, agent: str, request: InvokeRequest) -> InvokeReply:
        """Call the agent's endpoint for one version; failures to answer are in the reply."""

    def has_model_deployment(self, endpoint: str, name: str) -> bool:
        """Whether the project has the model deployment ``name`` (``project.deployments``)."""

    def has_connection(self, endpoint: str, name: str) -> bool:
        """Whether the project has the connection ``name`` (``project.connections``)."""

    def ping(self, endpoint: str, timeout_s: float) -> None:
        """One cheap call within ``timeout_s``, no retries; :class:`PlatformError` if it fails."""


class ImageRegistry(Protocol):
    """The container registries images are deployed from (the ACR data plane)."""

    def inspect(self, registry: str, repository: str, reference: str) -> ImageFacts | None:
        """The image ``reference`` (a tag or ``sha256:`` digest) names in ``repository`` of the
        registry whose login server is ``registry``: its digest, media type and, for a multi-arch
        index, its platforms. ``None`` when the registry has no such repository, tag or manifest;
        :class:`PlatformError` when it refuses or cannot be reached (retryable when it may pass)."""


class RoleAssignmentError(Exception):
    """ARM refused or failed a role assignment: its error ``code`` and ``message``, and the HTTP
    ``status_code`` (``None`` when ARM could not be reached)."""

    def __init__(self, *, code: str, message: str, status_code: int | None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status_code = status_code


class RoleAssignments(Protocol):
    """Azure RBAC role assignments (Microsoft.Authorization) through ARM."""

    def assign(self, assignment: RoleAssignment) -> bool:
        """Make the assignment: ``True`` if made now, ``False`` if ARM already holds it (by this or
        another name); :class:`RoleAssignmentError` otherwise."""


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
