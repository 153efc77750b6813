"""The rollout values kept on records and agent rows: traffic rules (the version selector), smoke
test results, holds and a canary's state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from deployer.domain.clock import iso

SmokeStatus = Literal["running", "passed", "failed"]
#: The longest reply excerpt kept on a record.
MAX_EXCERPT = 500


@dataclass(frozen=True, kw_only=True)
class TrafficRule:
    """One rule of an agent's version selector: ``percentage`` of the traffic to ``version``."""

    version: str
    percentage: int

    def to_json(self) -> dict[str, Any]:
        """The rule as stored and shown: ``{"version", "percentage"}``."""
        return {"version": self.version, "percentage": self.percentage}


Traffic = tuple[TrafficRule, ...]


def traffic_of(pairs: Iterable[tuple[str, int]]) -> Traffic:
    """Traffic rules from ``(version, percentage)`` pairs."""
    return tuple(TrafficRule(version=v, percentage=p) for v, p in pairs)


def traffic_from_json(raw: Iterable[Mapping[str, Any]]) -> Traffic:
    """Traffic rules from their stored form."""
    return tuple(TrafficRule(version=str(r["version"]), percentage=int(r["percentage"])) for r in raw)


@dataclass(frozen=True, kw_only=True)
class SmokeResult:
    """Where a deployment's smoke test stands: ``running`` until it passes or its attempts are
    spent. ``excerpt`` is the start of the last reply; ``detail`` says why the last attempt failed;
    ``answered_by`` is the version the last reply names (its ``agent_reference``), when it does."""

    status: SmokeStatus
    attempts: int
    latency_ms: float | None = None
    http_status: int | None = None
    excerpt: str | None = None
    detail: str | None = None
    answered_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``smoke`` of the deployment document (and its stored form)."""
        return {
            "status": self.status,
            "attempts": self.attempts,
            "latency_ms": self.latency_ms,
            "http_status": self.http_status,
            "excerpt": self.excerpt,
            "detail": self.detail,
            "answered_by": self.answered_by,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SmokeResult:
        """The result from its stored form."""
        return cls(
            status=raw["status"],
            attempts=int(raw.get("attempts", 0)),
            latency_ms=raw.get("latency_ms"),
            http_status=raw.get("http_status"),
            excerpt=raw.get("excerpt"),
            detail=raw.get("detail"),
            answered_by=raw.get("answered_by"),
        )


@dataclass(frozen=True, kw_only=True)
class Hold:
    """A digest that pushes may not deploy to an agent any more: a rollback (by a person, or
    automatic after a failed smoke test) moved away from it. Released by a person."""

    digest: str
    reason: str
    at: str
    by: str | None = None
    deployment_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The hold as stored and shown (API: the agent's holds)."""
        return {
            "digest": self.digest,
            "reason": self.reason,
            "at": self.at,
            "by": self.by,
            "deployment_id": self.deployment_id,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Hold:
        """The hold from its stored form."""
        return cls(
            digest=str(raw["digest"]),
            reason=str(raw.get("reason") or ""),
            at=str(raw.get("at") or ""),
            by=raw.get("by"),
            deployment_id=raw.get("deployment_id"),
        )


@dataclass(frozen=True, kw_only=True)
class CanaryState:
    """Where a canary rollout stands: ``stable`` keeps the rest of the traffic; ``step`` is the
    index of the last step applied (-1: none yet) at ``percentage``; the next step is due at
    ``next_at`` (epoch seconds) after a fresh smoke test; ``smoke_failures`` counts the failed
    re-runs; ``promote`` (a person's request) skips the remaining steps."""

    stable: str
    step: int = -1
    percentage: int = 0
    next_at: float = 0.0
    smoke_runs: int = 0
    smoke_failures: int = 0
    promote: bool = False
    promoted_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``canary`` of the deployment document (and its stored form)."""
        return {
            "stable": self.stable,
            "step": self.step,
            "percentage": self.percentage,
            "next_at": self.next_at,
            "smoke_runs": self.smoke_runs,
            "smoke_failures": self.smoke_failures,
            "promote": self.promote,
            "promoted_by": self.promoted_by,
        }

    def document(self) -> dict[str, Any]:
        """The ``canary`` of the deployment document: as stored, with ``next_at`` an ISO 8601
        time (UTC) like every time the API shows, ``None`` before the first step."""
        return {**self.to_json(), "next_at": iso(self.next_at) if self.next_at else None}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CanaryState:
        """The state from its stored form."""
        return cls(
            stable=str(raw["stable"]),
            step=int(raw.get("step", -1)),
            percentage=int(raw.get("percentage", 0)),
            next_at=float(raw.get("next_at", 0.0)),
            smoke_runs=int(raw.get("smoke_runs", 0)),
            smoke_failures=int(raw.get("smoke_failures", 0)),
            promote=bool(raw.get("promote", False)),
            promoted_by=raw.get("promoted_by"),
        )
