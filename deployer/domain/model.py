"""The deployment record and the values that flow into it. Pure: no I/O, no Azure imports."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, get_args

from deployer.domain.approval import Approval
from deployer.domain.images import ImageCheck
from deployer.domain.pushes import ImagePush
from deployer.domain.roles import RoleGrant
from deployer.domain.rollout_state import CanaryState, Hold, SmokeResult, Traffic

Status = Literal[
    "awaiting_approval",
    "pending",
    "creating",
    "verifying",
    "active",
    "verified",
    "unhealthy",
    "failed",
    "timed_out",
    "skipped",
    "superseded",
    "ignored",
    "refused",
    "canary",
    "rolled_back",
    "rejected",
]
Source = Literal["event", "manual", "rollback", "promotion"]
#: How a deployment's version takes the agent's traffic: as soon as it is active (``immediate``),
#: after its smoke test passes (``verified``), or by moving traffic back to an existing version
#: (``instant``: a rollback that creates no version).
#: ``canary``: after its smoke test passes, traffic moves to it in steps (``deployer.rollout.canary``).
#: An agent's configured ``rollout`` is one of the strategies; ``instant`` is a rollback's.
Strategy = Literal["immediate", "verified", "canary"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)
Rollout = Literal[Strategy, "instant"]
#: Rollouts that smoke-test the new version before it takes traffic (pinned before create).
SMOKE_TESTED: frozenset[str] = frozenset({"verified", "canary"})

#: Statuses the poll still has to follow.
OPEN_STATUSES: frozenset[str] = frozenset({"awaiting_approval", "pending", "creating", "verifying", "canary"})
#: Statuses of the deployment that serves the agent (``verified``: after its smoke test passed).
SERVING_STATUSES: frozenset[str] = frozenset({"active", "verified"})
#: Statuses of a deployment that is over: neither followed by the poll nor serving.
FINISHED_STATUSES: frozenset[str] = frozenset(get_args(Status)) - OPEN_STATUSES - SERVING_STATUSES

_MAX_INVERTED_MS = 9_999_999_999_999


def new_deployment_id(now: float) -> str:
    """A deployment id that sorts newest first (inverted milliseconds) and is unique."""
    inverted = _MAX_INVERTED_MS - int(now * 1000)
    return f"{inverted:013d}{secrets.token_hex(3)}"


def created_before(t: float) -> str:
    """The bound after which (as strings) come the ids of deployments created before ``t``."""
    return f"{_MAX_INVERTED_MS - int(t * 1000):013d}"


def deployment_time(deployment_id: str) -> float:
    """When the deployment with this id was created (seconds since the epoch)."""
    return (_MAX_INVERTED_MS - int(deployment_id[:13])) / 1000


@dataclass(frozen=True, kw_only=True)
class DeploymentError:
    """Why a deployment failed: the platform's code and message, and what to do about it."""

    code: str
    message: str
    hint: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "hint": self.hint}


@dataclass(frozen=True, kw_only=True)
class Transition:
    """One entry of a deployment's history."""

    status: str
    at: str
    note: str | None = None
    #: ``traffic_shifted`` entries: the percentage of the traffic the new version took.
    percentage: int | None = None

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"status": self.status, "at": self.at}
        if self.note:
            entry["note"] = self.note
        if self.percentage is not None:
            entry["percentage"] = self.percentage
        return entry


@dataclass(frozen=True, kw_only=True)
class Deployment:
    """A decision about one push (or manual request) for one agent, and what came of it."""

    id: str
    agent: str
    image: str
    status: Status
    source: Source
    created_at: str
    updated_at: str
    registry: str | None = None
    repository: str | None = None
    tag: str | None = None
    digest: str | None = None
    event_id: str | None = None
    reason: str | None = None
    version: str | None = None
    error: DeploymentError | None = None
    project_endpoint: str | None = None
    requested_by: str | None = None
    time_to_active_s: float | None = None
    #: When retention deleted this deployment's version (keep_versions).
    version_deleted_at: str | None = None
    #: Retention found the version busy (live sessions): when the delete was first refused, and
    #: when it is tried again (on this deployment's own open-work row; cleared once deleted).
    version_delete_refused_at: str | None = None
    version_delete_next_at: str | None = None
    #: A pending deployment: when it may be reconciled (list, adopt or create its version), i.e.
    #: when no ``create_version`` call made for it can still be running (``None``: ``created_at``
    #: plus ``PENDING_GRACE_S``). Moved earlier when a call is known to have ended.
    reconcile_after: str | None = None
    #: How long the version is expected to take to become active (the agent's history; ``None``:
    #: no history), for the poll's schedule.
    expected_active_s: float | None = None
    #: The runtime-role step: the version's identity given Azure AI User on the project.
    runtime_role: RoleGrant | None = None
    #: How the version takes traffic (``None``: records from before rollouts, as ``immediate``).
    rollout: Rollout | None = None
    #: Verified rollouts: the agent's version selector as pinned before the version was created.
    traffic_before: Traffic | None = None
    #: Verified rollouts: the smoke test run against this version.
    smoke: SmokeResult | None = None
    #: Canary rollouts: the steps taken so far and the version the rest of the traffic stays on.
    canary: CanaryState | None = None
    #: Promotion: the deployment of the target agent this one was promoted to, and back.
    promoted_to: str | None = None
    promoted_from: str | None = None
    #: The registry check of the image before its version was created (``registry_check``).
    image_check: ImageCheck | None = None
    #: The approval it waits (or waited) for: its own before anything is created, or a canary step's.
    approval: Approval | None = None
    history: tuple[Transition, ...] = ()
    #: Event types entered but not yet handed to the notification outbox.
    pending_events: tuple[str, ...] = ()
    etag: str | None = field(default=None, compare=False)

    @classmethod
    def begin(
        cls,
        deployment_id: str,
        *,
        agent: str,
        image: str,
        status: Status,
        source: Source,
        at: str,
        of: ImagePush | Deployment | None,
        **fields: Any,
    ) -> Deployment:
        """A new record created ``at``, with the registry, repository, tag and digest of ``of``
        (the push it deploys, or the deployment it goes back to)."""
        return cls(
            id=deployment_id,
            agent=agent,
            image=image,
            status=status,
            source=source,
            created_at=at,
            updated_at=at,
            registry=of.registry if of else None,
            repository=of.repository if of else None,
            tag=of.tag if of else None,
            digest=of.digest if of else None,
            **fields,
        )

    @property
    def began_at(self) -> str:
        """When work on it began (timeouts count from it): its creation, or its approval when it
        waited for one."""
        a = self.approval
        if a is not None and a.step is None and a.decision == "approved" and a.at:
            return a.at
        return self.created_at

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def was_serving(self) -> bool:
        """Whether this deployment ever served the agent (``active`` or ``verified``)."""
        return any(entry.status in SERVING_STATUSES for entry in self.history)

    def moved_to(self, status: Status, at: str, *, note: str | None = None, **changes: Any) -> Deployment:
        """This deployment after entering ``status`` at ``at`` (history and events appended)."""
        return replace(
            self,
            status=status,
            updated_at=at,
            history=(*self.history, Transition(status=status, at=at, note=note)),
            pending_events=(*self.pending_events, f"deployment.{status}"),
            **changes,
        )

    def noted(self, status: str, at: str, *, note: str, **changes: Any) -> Deployment:
        """This deployment with a history entry ``status`` that is no status change and no
        event (a step on the way, such as ``image_checked``)."""
        entry = Transition(status=status, at=at, note=note)
        return replace(self, updated_at=at, history=(*self.history, entry), **changes)

    def shifted(self, percentage: int, at: str, *, note: str, **changes: Any) -> Deployment:
        """This deployment after a canary step gave its version ``percentage`` of the traffic
        (a ``traffic_shifted`` history entry and event; the status does not change)."""
        return replace(
            self,
            updated_at=at,
            history=(
                *self.history,
                Transition(status="traffic_shifted", at=at, note=note, percentage=percentage),
            ),
            pending_events=(*self.pending_events, f"deployment.traffic_shifted:{percentage}"),
            **changes,
        )

    def to_json(self) -> dict[str, Any]:
        """The deployment document shared by the API, the CLI and the notifications."""
        return {
            "id": self.id,
            "agent": self.agent,
            "image": self.image,
            "source": self.source,
            "status": self.status,
            **{name: getattr(self, name) for name in SHOWN_TEXT_FIELDS},
            "error": self.error.to_json() if self.error else None,
            "time_to_active_s": self.time_to_active_s,
            "runtime_role": self.runtime_role.to_json() if self.runtime_role else None,
            "rollout": self.rollout or "immediate",
            "traffic_before": None
            if self.traffic_before is None
            else [rule.to_json() for rule in self.traffic_before],
            "smoke": self.smoke.to_json() if self.smoke else None,
            "canary": self.canary.document() if self.canary else None,
            "image_check": self.image_check.to_json() if self.image_check else None,
            "approval": self.approval.document() if self.approval else None,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "history": [entry.to_json() for entry in self.history],
        }


#: The record's optional text fields (``str | None``): stored as they are, and shown in the
#: deployment document but for the ones only the deployer reads (``reconcile_after``).
TEXT_FIELDS: tuple[str, ...] = tuple(
    f.name
    for f in fields(Deployment)
    if f.type == "str | None" and f.compare  # not the ETag
)
SHOWN_TEXT_FIELDS: tuple[str, ...] = tuple(name for name in TEXT_FIELDS if name != "reconcile_after")


@dataclass(frozen=True, kw_only=True)
class AgentState:
    """What the deployer knows of one agent across deployments (one row per agent)."""

    name: str
    active_id: str | None = None
    active_image: str | None = None
    active_digest: str | None = None
    active_tag: str | None = None
    #: Highest semver tag ever started for this agent; pushes below it are skipped.
    high_tag: str | None = None
    #: While paused, pushes are recorded ``skipped`` with reason ``paused``.
    paused: bool = False
    paused_by: str | None = None
    paused_at: str | None = None
    #: Digests that pushes may not deploy (reason ``held``): rollbacks moved away from them.
    holds: tuple[Hold, ...] = ()
    #: The deployment whose canary is under way (cleared when it ends; stale ids are ignored).
    canary_id: str | None = None
    #: The newest deployment waiting for approval (older ones waiting are superseded by it).
    awaiting_id: str | None = None
    #: Times to active (s) of the agent's last deployments, newest first: the poll looks densely
    #: only around when the next version is expected to become active.
    took_s: tuple[float, ...] = ()
    etag: str | None = field(default=None, compare=False)
