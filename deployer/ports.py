"""The ports: what the services need from the outside, as Protocols only. The values that cross
them live in ``deployer.domain`` (``platform``, ``notifications``, ``errors``); the adapters in
``deployer.adapters`` implement them, built by ``deployer.bootstrap``; tests use hand-written
fakes. Every conditional write raises :class:`deployer.domain.errors.Conflict` when it loses."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

from deployer.domain.images import ImageFacts
from deployer.domain.model import AgentState, Deployment, Status
from deployer.domain.notifications import Attempt, NotificationEntry, QueuedNotification
from deployer.domain.platform import InvokeReply, InvokeRequest, Page, Scheduled, VersionInfo, VersionSpec
from deployer.domain.roles import RoleAssignment
from deployer.domain.rollout_state import Traffic


class NotificationStore(Protocol):
    """Outbox entries (one per event and subscriber) and the queue of entries to send."""

    def add_notification(self, entry: NotificationEntry) -> bool:
        """Insert ``entry`` if no entry has its id; True if this call inserted it."""

    def get_notification(self, entry_id: str) -> NotificationEntry | None: ...

    def save_notification(self, entry: NotificationEntry) -> NotificationEntry:
        """Replace the entry if its ETag still matches; ``Conflict`` otherwise."""

    def list_notifications(
        self, *, state: str | None = None, limit: int = 50, after: str | None = None
    ) -> list[NotificationEntry]:
        """Entries in id order (newest deployments first), optionally in one state."""

    def enqueue_notification(self, entry_id: str, due: float) -> None:
        """Queue the entry if it is not queued already (a queued one may be leased: keep it)."""

    def requeue_notification(self, queued: QueuedNotification) -> QueuedNotification:
        """Move a queued entry's ``due`` if its ETag still matches (a lease); ``Conflict`` otherwise."""

    def due_notifications(self, now: float, limit: int) -> list[QueuedNotification]:
        """Queued entries due at ``now``: reads only the queue."""

    def dequeue_notification(self, queued: QueuedNotification) -> None:
        """Remove a queued entry if its ETag still matches; nothing if it changed or is gone."""

    def notifications_before(self, cutoff: float, *, state: str, limit: int) -> list[NotificationEntry]:
        """At most ``limit`` entries in ``state`` of deployments created before ``cutoff``."""

    def forget_notifications(self, entries: Sequence[NotificationEntry]) -> int:
        """Delete the entries whose ETag still matches (in entity-group transactions); how many."""


class WebhookTransport(Protocol):
    """Sends one POST to a webhook URL: resolving, checking and connecting safely."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Attempt: ...


class TopicPublisher(Protocol):
    """Publishes one CloudEvent to an Event Grid custom topic."""

    def publish(self, endpoint: str, event: Mapping[str, Any]) -> Attempt: ...


class DeploymentStore(NotificationStore, Protocol):
    """Durable deployment records, idempotency keys, agent rows and the open-work index, and
    the notification outbox beside them (one table: :class:`NotificationStore`)."""

    def claim(self, key: str, owner: str) -> str:
        """Insert ``key`` -> ``owner`` if absent; return the owner on record (ours or an earlier one)."""

    def claimed(self, key: str) -> str | None:
        """The owner on record for ``key``, or ``None``: a read that never inserts."""

    def release(self, key: str, owner: str) -> None:
        """Delete ``key`` if ``owner`` holds it; nothing if it is absent or another owner's."""

    def ping(self, timeout_s: float) -> None:
        """One cheap read within ``timeout_s``, no retries; raise if the storage does not answer."""

    def add(self, deployment: Deployment) -> Deployment:
        """Insert a new record; raise :class:`Conflict` if the id exists."""

    def get(self, deployment_id: str) -> Deployment | None: ...

    def update(self, deployment: Deployment) -> Deployment:
        """Replace the record if its ETag still matches; raise :class:`Conflict` otherwise."""

    def update_together(self, deployments: Sequence[Deployment]) -> list[Deployment]:
        """Replace every record in one atomic write (an entity-group transaction: the records
        share a partition) if every ETag still matches; :class:`Conflict` and nothing written
        otherwise. Returns the records as stored, in order."""

    def begin(
        self, record: Deployment, entry: Scheduled, *, claims: Mapping[str, str], agent: AgentState
    ) -> Deployment:
        """Insert ``record``, its open-work ``entry`` and each claim (key -> owner), and save
        ``agent`` (insert without an ETag, replace with its ETag) in one atomic write;
        :class:`Conflict` and nothing written if a row exists or the agent row changed."""

    def update_and_schedule(self, deployment: Deployment, entry: Scheduled) -> tuple[Deployment, Scheduled]:
        """Replace the record (its ETag must match) and write its open-work entry (upsert; with an
        ETag, replace only if unchanged) in one atomic write; :class:`Conflict` and nothing
        written otherwise."""

    def update_and_schedule_each(self, looks: Sequence[tuple[Deployment | None, Scheduled]]) -> list[bool]:
        """For each pair, replace the record (unless ``None``; its ETag must match), then its
        open-work entry (its ETag must match); whether both were written, for each. Many pairs
        go in one write; a pair whose record changed writes neither, one whose entry changed
        writes its record only, and neither touches the other pairs."""

    def get_agent(self, name: str) -> AgentState:
        """The agent's row, or an empty state (no ETag) when there is none yet."""

    def last_seen_agent(self, name: str) -> AgentState:
        """The agent's row as this store last read or wrote it (read now if it never did). It
        may be stale: only for a write conditional on its ETag (:meth:`begin`), which a row
        changed since then fails."""

    def save_agent(self, state: AgentState) -> AgentState:
        """Insert (no ETag) or replace (ETag must match) the agent's row; :class:`Conflict` if lost."""

    def schedule(self, entry: Scheduled) -> Scheduled:
        """Upsert the open-work entry (or, with an ETag, replace it only if unchanged). For the
        path that owns the deployment (holds its lease, or just wrote it): it may move ``due`` later."""

    def lease(self, entries: Sequence[Scheduled]) -> list[Scheduled | None]:
        """Replace each open-work entry (each read with its ETag) only if unchanged: for each, the
        entry as written, or ``None`` if its row changed or is gone meanwhile. Whether one entry
        is written never depends on another."""

    def schedule_by(self, entry: Scheduled) -> None:
        """Make the open-work entry due no later than ``entry.due``: insert it if absent, move an
        existing one's ``due`` earlier, never later. For a path that does not own the deployment
        (a duplicate delivery, a deployment retiring another): it cannot delay the owner's work."""

    def due(self, now: float, limit: int) -> list[Scheduled]:
        """Open-work entries due at ``now``: reads only the open-work index."""

    def scheduled(self, deployment_id: str) -> Scheduled | None:
        """The deployment's open-work entry with its ETag, or ``None`` when it has none."""

    def unschedule(self, deployment_id: str) -> None: ...

    def created_before(
        self, cutoff: float, *, statuses: Collection[Status] = (), limit: int
    ) -> list[Deployment]:
        """At most ``limit`` records created before ``cutoff`` (epoch s), only those in
        ``statuses`` when some are given."""

    def owned_keys(self, owners: Collection[str]) -> dict[str, list[str]]:
        """The keys :meth:`claim` recorded for each of ``owners`` that holds some."""

    def forget(self, deployments: Sequence[Deployment], keys: Mapping[str, Sequence[str]]) -> list[str]:
        """Delete the records whose ETag still matches, each with its ``keys`` (deployment id ->
        keys) in the same entity-group transaction: a record changed since it was read stays
        (and, should the transaction be redone row by row, loses its keys); the ids deleted."""

    def list(
        self,
        *,
        agent: str | None = None,
        status: Status | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page: ...


class AgentPlatform(Protocol):
    """The Foundry Agent Service, per project endpoint."""

    def create_version(self, endpoint: str, agent: str, spec: VersionSpec) -> VersionInfo: ...

    def get_version(self, endpoint: str, agent: str, version: str) -> VersionInfo: ...

    def list_versions(self, endpoint: str, agent: str) -> list[VersionInfo]: ...

    def delete_version(self, endpoint: str, agent: str, version: str, *, force: bool = False) -> None:
        """Delete the version (gone already: done). A version with live sessions is refused
        (:class:`PlatformError`, status 409) unless ``force``, which ends them."""

    def get_traffic(self, endpoint: str, agent: str) -> Traffic:
        """The agent's version-selector rules (empty: none, or no such agent)."""

    def set_traffic(self, endpoint: str, agent: str, traffic: Traffic) -> None:
        """Replace the agent's version-selector rules (a merge-patch of the agent's endpoint)."""

    def get_protocols(self, endpoint: str, agent: str) -> frozenset[str] | None:
        """The protocols the agent's endpoint serves (``protocol_configuration``); ``None`` when
        it sets none (the platform then serves responses only) or there is no such agent."""

    def set_protocols(self, endpoint: str, agent: str, protocols: frozenset[str]) -> None:
        """Make the agent's endpoint serve ``protocols`` (a merge-patch: others stay)."""

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
        registry whose login server is ``registry``: its digest, media type and platforms.
        ``None`` when the registry has no such repository, tag or manifest; :class:`PlatformError`
        when it refuses or cannot be reached (retryable when it may pass)."""


class RoleAssignments(Protocol):
    """Azure RBAC role assignments (Microsoft.Authorization) through ARM."""

    def assign(self, assignment: RoleAssignment) -> bool:
        """Make the assignment: ``True`` if made now, ``False`` if ARM already holds it (by this or
        another name); :class:`RoleAssignmentError` otherwise."""


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
