"""Hand-written fakes of the deployer's ports. They keep state in memory and record calls."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from deployer.domain.errors import Conflict, PlatformError, RoleAssignmentError
from deployer.domain.hints import PROJECT_NOT_FOUND
from deployer.domain.model import AgentState, Deployment, created_before
from deployer.domain.platform import InvokeReply, InvokeRequest, Page, Scheduled, VersionInfo, VersionSpec
from deployer.domain.roles import RoleAssignment
from tests.unit.fake_outbox import FakeNotificationStore


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class FakeStore(FakeNotificationStore):
    """In-memory DeploymentStore with ETags, like the Table adapter."""

    def __init__(self) -> None:
        self.records: dict[str, Deployment] = {}
        self.keys: dict[str, str] = {}
        self.agents: dict[str, AgentState] = {}
        #: What ``last_seen_agent`` answers once, as if this process saw the row before it changed.
        self.stale_agents: dict[str, AgentState] = {}
        self.open: dict[str, Scheduled] = {}
        self._etags = itertools.count(1)
        self._lock = threading.RLock()
        self.entities_read = 0
        self.ping_error: Exception | None = None
        FakeNotificationStore.__init__(self)

    def _etag(self) -> str:
        return f"W/{next(self._etags)}"

    def claim(self, key: str, owner: str) -> str:
        with self._lock:
            return self.keys.setdefault(key, owner)

    def claimed(self, key: str) -> str | None:
        with self._lock:
            return self.keys.get(key)

    def release(self, key: str, owner: str) -> None:
        with self._lock:
            if self.keys.get(key) == owner:
                del self.keys[key]

    def ping(self, timeout_s: float) -> None:
        if self.ping_error is not None:
            raise self.ping_error

    def add(self, deployment: Deployment) -> Deployment:
        with self._lock:
            if deployment.id in self.records:
                raise Conflict(deployment.id)
            stored = replace(deployment, etag=self._etag())
            self.records[deployment.id] = stored
            return stored

    def get(self, deployment_id: str) -> Deployment | None:
        with self._lock:
            self.entities_read += deployment_id in self.records
            return self.records.get(deployment_id)

    def update(self, deployment: Deployment) -> Deployment:
        with self._lock:
            current = self.records.get(deployment.id)
            if current is None or current.etag != deployment.etag:
                raise Conflict(deployment.id)
            stored = replace(deployment, etag=self._etag())
            self.records[deployment.id] = stored
            return stored

    def update_together(self, deployments: Sequence[Deployment]) -> list[Deployment]:
        with self._lock:
            for d in deployments:
                current = self.records.get(d.id)
                if current is None or current.etag != d.etag:
                    raise Conflict(d.id)
            return [self.update(d) for d in deployments]

    def begin(
        self, record: Deployment, entry: Scheduled, *, claims: Mapping[str, str], agent: AgentState
    ) -> Deployment:
        with self._lock:
            current = self.agents.get(agent.name)
            if (
                any(key in self.keys for key in claims)
                or (current.etag if current else None) != agent.etag
                or entry.deployment_id in self.open
                or record.id in self.records
            ):
                raise Conflict(record.id)
            self.keys.update(claims)
            self.agents[agent.name] = replace(agent, etag=self._etag())
            self.open[entry.deployment_id] = replace(entry, etag=self._etag())
            stored = self.records[record.id] = replace(record, etag=self._etag())
            return stored

    def update_and_schedule_each(self, looks: Sequence[tuple[Deployment | None, Scheduled]]) -> list[bool]:
        with self._lock:
            return [self._update_and_schedule_one(record, entry) for record, entry in looks]

    def _update_and_schedule_one(self, record: Deployment | None, entry: Scheduled) -> bool:
        if record is not None:
            current = self.records.get(record.id)
            if current is None or current.etag != record.etag:
                return False
            self.records[record.id] = replace(record, etag=self._etag())
        leased = self.open.get(entry.deployment_id)
        if leased is None or leased.etag != entry.etag:
            return False
        self.open[entry.deployment_id] = replace(entry, etag=self._etag())
        return True

    def update_and_schedule(self, deployment: Deployment, entry: Scheduled) -> tuple[Deployment, Scheduled]:
        with self._lock:
            current = self.open.get(entry.deployment_id)
            record = self.records.get(deployment.id)
            if (entry.etag is not None and (current is None or current.etag != entry.etag)) or (
                record is None or record.etag != deployment.etag
            ):
                raise Conflict(deployment.id)
            stored = self.records[deployment.id] = replace(deployment, etag=self._etag())
            scheduled = self.open[entry.deployment_id] = replace(entry, etag=self._etag())
            return stored, scheduled

    def get_agent(self, name: str) -> AgentState:
        with self._lock:
            return self.agents.get(name, AgentState(name=name))

    def last_seen_agent(self, name: str) -> AgentState:
        """The row as it is, unless a test made this store see an older one (``stale_agents``)."""
        with self._lock:
            stale = self.stale_agents.pop(name, None)
        return stale if stale is not None else self.get_agent(name)

    def save_agent(self, state: AgentState) -> AgentState:
        with self._lock:
            current = self.agents.get(state.name)
            if (current.etag if current else None) != state.etag:
                raise Conflict(state.name)
            stored = replace(state, etag=self._etag())
            self.agents[state.name] = stored
            return stored

    def schedule(self, entry: Scheduled) -> Scheduled:
        with self._lock:
            current = self.open.get(entry.deployment_id)
            if entry.etag is not None and (current is None or current.etag != entry.etag):
                raise Conflict(entry.deployment_id)
            stored = replace(entry, etag=self._etag())
            self.open[entry.deployment_id] = stored
            return stored

    def lease(self, entries: Sequence[Scheduled]) -> list[Scheduled | None]:
        leased: list[Scheduled | None] = []
        for entry in entries:
            try:
                leased.append(self.schedule(entry))
            except Conflict:
                leased.append(None)
        return leased

    def schedule_by(self, entry: Scheduled) -> None:
        with self._lock:
            current = self.open.get(entry.deployment_id)
            if current is None:
                self.open[entry.deployment_id] = replace(entry, etag=self._etag())
            elif entry.due < current.due:
                self.open[entry.deployment_id] = replace(current, due=entry.due, etag=self._etag())

    def due(self, now: float, limit: int) -> list[Scheduled]:
        with self._lock:
            found = sorted((e for e in self.open.values() if e.due <= now), key=lambda e: e.deployment_id)
            self.entities_read += len(found[:limit])
            return found[:limit]

    def scheduled(self, deployment_id: str) -> Scheduled | None:
        with self._lock:
            return self.open.get(deployment_id)

    def unschedule(self, deployment_id: str) -> None:
        with self._lock:
            self.open.pop(deployment_id, None)

    def created_before(
        self, cutoff: float, *, statuses: Collection[str] = (), limit: int
    ) -> list[Deployment]:
        with self._lock:
            bound = created_before(cutoff)
            found = [
                d
                for k, d in sorted(self.records.items())
                if k > bound and (not statuses or d.status in statuses)
            ]
            return found[:limit]

    def owned_keys(self, owners: Collection[str]) -> dict[str, list[str]]:
        with self._lock:
            found: dict[str, list[str]] = {}
            for key, owner in self.keys.items():
                if owner in owners:
                    found.setdefault(owner, []).append(key)
            return found

    def forget(self, deployments: Sequence[Deployment], keys: Mapping[str, Sequence[str]]) -> list[str]:
        with self._lock:
            gone = [d.id for d in deployments if d.id in self.records and self.records[d.id].etag == d.etag]
            for deployment_id in gone:
                del self.records[deployment_id]
                for key in keys.get(deployment_id, ()):
                    self.keys.pop(key, None)
            return gone

    def list(self, *, agent=None, status=None, limit=50, after=None) -> Page:
        with self._lock:
            items = [
                d
                for k, d in sorted(self.records.items())
                if (agent is None or d.agent == agent)
                and (status is None or d.status == status)
                and (after is None or k > after)
            ]
            page = items[:limit]
            return Page(items=page, next=page[-1].id if len(items) > limit else None)


@dataclass
class FakeVersion:
    info: VersionInfo
    spec: VersionSpec | None = None


@dataclass
class FakePlatform:
    """An AgentPlatform in memory: versions per agent, statuses set by the test, calls recorded."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)
    versions: dict[str, list[FakeVersion]] = field(default_factory=dict)
    create_error: PlatformError | None = None
    get_error: PlatformError | None = None
    #: Endpoints whose ``ping`` fails, and endpoints whose project does not exist (every call fails).
    unreachable: set[str] = field(default_factory=set)
    missing_projects: set[str] = field(default_factory=set)
    #: Version selectors by agent, and smoke-test replies by (agent, version) (default: READY).
    traffic: dict[str, tuple] = field(default_factory=dict)
    replies: dict[tuple[str, str], InvokeReply] = field(default_factory=dict)
    invoked: list[tuple[str, InvokeRequest]] = field(default_factory=list)
    #: The project's model deployments and connections (``None``: any name exists).
    model_deployments: set[str] | None = None
    connections: set[str] | None = None
    #: The protocols each agent's endpoint is set to serve (absent: unset, responses only).
    protocols: dict[str, frozenset[str]] = field(default_factory=dict)
    #: (agent, version) pairs with live sessions: deleting them needs ``force``.
    busy: set[tuple[str, str]] = field(default_factory=set)

    def create_version(self, endpoint: str, agent: str, spec: VersionSpec) -> VersionInfo:
        self.calls.append(("create_version", agent, spec.image))
        self._project(endpoint)
        if self.create_error:
            raise self.create_error
        existing = self.versions.setdefault(agent, [])
        info = VersionInfo(
            version=str(len(existing) + 1),
            status="creating",
            image=spec.image,
            metadata=dict(spec.metadata),
            created_at=float(len(existing) + 1),
            principal_id=principal_for(agent, str(len(existing) + 1)),
        )
        existing.append(FakeVersion(info=info, spec=spec))
        return info

    def get_version(self, endpoint: str, agent: str, version: str) -> VersionInfo:
        self.calls.append(("get_version", agent, version))
        if self.get_error:
            raise self.get_error
        return next(v.info for v in self.versions[agent] if v.info.version == version)

    def list_versions(self, endpoint: str, agent: str) -> list[VersionInfo]:
        self.calls.append(("list_versions", agent, ""))
        self._project(endpoint)
        return [v.info for v in self.versions.get(agent, []) if v.info.status != "deleted"]

    def delete_version(self, endpoint: str, agent: str, version: str, *, force: bool = False) -> None:
        self.calls.append(("delete_version", agent, f"{version} force" if force else version))
        if (agent, version) in self.busy and not force:
            raise PlatformError(code="conflict", message="active sessions", status_code=409, retryable=False)
        self.set_status(agent, version, "deleted")

    def ping(self, endpoint: str, timeout_s: float) -> None:
        self.calls.append(("ping", endpoint, ""))
        self._project(endpoint)
        if endpoint in self.unreachable:
            raise PlatformError(
                code="ServiceUnreachable", message="no answer", status_code=None, retryable=True
            )

    def get_traffic(self, endpoint: str, agent: str) -> tuple:
        self.calls.append(("get_traffic", agent, ""))
        self._project(endpoint)
        return self.traffic.get(agent, ())

    def set_traffic(self, endpoint: str, agent: str, traffic: tuple) -> None:
        self.calls.append(("set_traffic", agent, ",".join(f"{r.version}:{r.percentage}" for r in traffic)))
        self.traffic[agent] = tuple(traffic)

    def get_protocols(self, endpoint: str, agent: str) -> frozenset[str] | None:
        self.calls.append(("get_protocols", agent, ""))
        return self.protocols.get(agent)

    def set_protocols(self, endpoint: str, agent: str, protocols: frozenset[str]) -> None:
        self.calls.append(("set_protocols", agent, ",".join(sorted(protocols))))
        self.protocols[agent] = self.protocols.get(agent, frozenset()) | protocols

    def invoke(self, endpoint: str, agent: str, request: InvokeRequest) -> InvokeReply:
        self.calls.append(("invoke", agent, request.version))
        self.invoked.append((agent, request))
        return self.replies.get((agent, request.version), READY)

    def has_model_deployment(self, endpoint: str, name: str) -> bool:
        self.calls.append(("has_model_deployment", name, ""))
        return self.model_deployments is None or name in self.model_deployments

    def has_connection(self, endpoint: str, name: str) -> bool:
        self.calls.append(("has_connection", name, ""))
        return self.connections is None or name in self.connections

    def _project(self, endpoint: str) -> None:
        if endpoint in self.missing_projects:
            raise PlatformError(
                code=PROJECT_NOT_FOUND,
                message=f"the Foundry project at {endpoint} does not exist",
                status_code=404,
                retryable=False,
            )

    def set_status(self, agent: str, version: str, status: str, *, code: str | None = None) -> None:
        for v in self.versions[agent]:
            if v.info.version == version:
                v.info = replace(
                    v.info, status=status, error_code=code, error_message=code and f"{code} happened"
                )

    def count(self, name: str) -> int:
        return sum(1 for call in self.calls if call[0] == name)


READY = InvokeReply(
    status_code=200,
    body='{"output": [{"type": "message", "content": [{"type": "output_text", "text": "READY"}]}]}',
    latency_ms=12.0,
)


def principal_for(agent: str, version: str) -> str:
    """The agent identity FakePlatform reports for a version."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-identity:{agent}/{version}"))


def set_identity(platform: FakePlatform, agent: str, version: str, principal_id: str | None) -> None:
    """Make ``version`` report ``principal_id`` as its instance identity (``None``: none yet)."""
    for v in platform.versions[agent]:
        if v.info.version == version:
            v.info = replace(v.info, principal_id=principal_id)


@dataclass
class FakeRoleAssignments:
    """RoleAssignments in memory: assignments by (scope, principal, role), calls recorded, and
    ``errors`` raised by the next calls, one each, before any succeeds."""

    calls: list[RoleAssignment] = field(default_factory=list)
    held: dict[tuple[str, str, str], RoleAssignment] = field(default_factory=dict)
    errors: list[RoleAssignmentError] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def assign(self, assignment: RoleAssignment) -> bool:
        with self.lock:
            self.calls.append(assignment)
            if self.errors:
                raise self.errors.pop(0)
            key = (assignment.scope.lower(), assignment.principal_id, assignment.role_definition_id.lower())
            if key in self.held:
                return False
            self.held[key] = assignment
            return True


def arm_error(code: str, status_code: int | None = 400) -> RoleAssignmentError:
    return RoleAssignmentError(code=code, message=f"{code} (from the fake)", status_code=status_code)
