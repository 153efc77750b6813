"""What a deployment becomes after the platform is observed, and when to look again. Pure."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from deployer.domain.hints import hint_for
from deployer.domain.model import AgentState, Deployment, DeploymentError
from deployer.domain.platform import VersionInfo, version_number

FIRST_DELAY_S = 2.0
MAX_DELAY_S = 30.0
#: Under one tick of the default 5-second schedule: a look takes part of a second, and an entry
#: due just after the next tick would wait for the one after it.
FAST_DELAY_S = 4.0
FAST_WINDOW_S = 120.0
#: A look's next due time is also its lease (``quiet.py``): never sooner than this after the look.
LOOK_LEASE_S = 1.0
#: An agent's provisioning time is learned from its last versions' times to active; looks are
#: dense from this long (or this share of the expected time, if longer) before it is expected.
LEARNED_FROM = 5
EXPECTED_WINDOW_S, EXPECTED_WINDOW_SHARE = 12.0, 0.25
#: The longest one ``create_version`` call may take in the Foundry adapter: its retries stop
#: after ``CREATE_RETRY_BUDGET_S`` and the request in flight then has one read timeout left.
CREATE_READ_TIMEOUT_S = 30.0
CREATE_RETRY_BUDGET_S = 60.0
#: Room for a service that finishes a request its client gave up on (a read timeout): the
#: version that call made, if any, is listed by then and adopted, never created again.
SERVER_FINISH_S = 30.0
#: How long a pending record is left alone while a ``create_version`` call may be running:
#: longer than any call, plus ``SERVER_FINISH_S``. When the call is known to have ended, the
#: record says so (``reconcile_after``) and is reconciled sooner.
PENDING_GRACE_S = CREATE_RETRY_BUDGET_S + CREATE_READ_TIMEOUT_S + SERVER_FINISH_S
#: Foundry answering 401/403 is retried this long after the deployment began (a role assignment
#: still propagating, a credential being rotated), then fails the deployment with a hint.
AUTH_RETRY_S = 600.0
#: Retention retries a version busy with sessions after as long as it has been busy, within these.
DELETE_RETRY_MIN_S, DELETE_RETRY_MAX_S = 60.0, 900.0


@dataclass(frozen=True, kw_only=True)
class Observation:
    """The outcome of looking at one creating version."""

    status: str
    error: DeploymentError | None = None


def observe(
    deployment: Deployment, info: VersionInfo, *, now: float, started: float, timeout_s: float
) -> Observation:
    """``active``, ``failed``, ``timed_out``, or ``creating`` (look again later)."""
    if info.status == "active":
        return Observation(status="active")
    if info.status in ("failed", "deleting", "deleted"):
        code = info.error_code or f"version_{info.status}"
        message = info.error_message or f"the version is {info.status}"
        return Observation(
            status="failed", error=DeploymentError(code=code, message=message, hint=hint_for(code))
        )
    if now - started >= timeout_s:
        message = f"version {deployment.version} was still '{info.status}' after {timeout_s:.0f} s"
        return Observation(
            status="timed_out",
            error=DeploymentError(code="timed_out", message=message, hint=hint_for("timed_out")),
        )
    return Observation(status="creating")


def expected_active_s(took: Sequence[float]) -> float | None:
    """How long the agent's next version is expected to take to become active: the median of
    its last times to active (``None`` without any)."""
    return float(statistics.median(took)) if took else None


def learned(took: Sequence[float], latest: float | None) -> tuple[float, ...]:
    """The agent's last ``LEARNED_FROM`` times to active, newest first, with ``latest``."""
    return tuple(([latest] if latest is not None else []) + list(took))[:LEARNED_FROM]


def next_look(attempt: int, age_s: float, expected_s: float | None = None) -> float:
    """Seconds until a creating version is looked at again: 2 s (an early failure shows at
    once), then at every tick of the default schedule for the two minutes in which
    provisioning usually ends, so an active version is seen within a tick; after that every
    8 s, 16 s, then 30 s, each for half a minute. With an ``expected_s`` (the agent's history),
    the ticks before the window around it are skipped: one look at its start, then every tick."""
    if attempt == 0:
        return FIRST_DELAY_S
    if expected_s is not None:
        window_start = expected_s - max(EXPECTED_WINDOW_S, expected_s * EXPECTED_WINDOW_SHARE)
        if age_s + FAST_DELAY_S < window_start:
            return window_start - age_s
    if age_s < FAST_WINDOW_S:
        return FAST_DELAY_S
    return float(min(FAST_DELAY_S * 2 ** (int((age_s - FAST_WINDOW_S) // MAX_DELAY_S) + 1), MAX_DELAY_S))


def next_look_at(
    attempt: int, *, began: float, tick_started: float, now: float, expected_s: float | None = None
) -> float:
    """When a creating version looked at ``now``, in a tick that started at ``tick_started``, is
    next due (``next_look``): as if the look had been made at the tick's start. A tick takes its
    entries one after another; timed from the look itself, one made a second or two into a long
    tick (the first looks of a burst of pushes, which also grant runtime roles) falls just after
    the next tick's start and waits a whole tick more. At least ``LOOK_LEASE_S`` after the look."""
    delay = next_look(attempt, tick_started - began, expected_s)
    return max(tick_started + delay, now + LOOK_LEASE_S)


def backoff(attempt: int) -> float:
    """Seconds until a failed look is tried again: 2, 4, 8, 16, then 30 at most."""
    return float(min(FIRST_DELAY_S * (2 ** max(attempt, 0)), MAX_DELAY_S))


def reconcile_after(now: float, *, answered: bool) -> float:
    """When a pending deployment may be reconciled after its ``create_version`` call ended: at
    once if the platform answered (it refused: nothing of ours is still running), else once the
    service has had ``SERVER_FINISH_S`` to finish the request the client gave up on."""
    return now if answered else now + SERVER_FINISH_S


def auth_refusal_retryable(status_code: int | None, age_s: float) -> bool:
    """Whether a 401/403 from Foundry is still retried: for ``AUTH_RETRY_S`` after the start."""
    return status_code in (401, 403) and age_s < AUTH_RETRY_S


def delete_retry_delay(busy_for_s: float) -> float:
    """Seconds until retention tries a busy version again: as long as it has been busy so far,
    at least a minute, at most 15 (sessions linger up to an hour)."""
    return min(max(busy_for_s, DELETE_RETRY_MIN_S), DELETE_RETRY_MAX_S)


def newer(a: str, b: str) -> bool:
    """Whether deployment id ``a`` was created after ``b`` (ids are inverted time: smaller is newer)."""
    return a < b


def settles_as(deployment: Deployment, state: AgentState) -> str:
    """``active`` if this deployment takes over the agent, ``superseded`` if a newer one is active."""
    if state.active_id and state.active_id != deployment.id and newer(state.active_id, deployment.id):
        return "superseded"
    return "active"


def versions_to_delete(
    versions: list[VersionInfo], *, keep: int, active_version: str | None
) -> list[VersionInfo]:
    """Versions beyond the newest ``keep``, oldest first; never the active one nor a creating one."""
    live = [v for v in versions if v.status not in ("deleting", "deleted")]
    ordered = sorted(live, key=lambda v: (v.created_at or 0.0, version_number(v.version)), reverse=True)
    excess = [
        v for v in ordered[keep:] if v.version != active_version and v.status not in ("creating", "deleting")
    ]
    return list(reversed(excess))
