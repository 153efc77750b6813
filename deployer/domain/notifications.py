"""The outbox's values: one entry per (deployment, status, subscriber), its place in the queue, and
what one attempt to send it gave."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from typing import Any, Literal

from deployer.domain.clock import iso

EntryState = Literal["pending", "delivered", "dead"]
ENTRY_STATES: frozenset[str] = frozenset({"pending", "delivered", "dead"})


@dataclass(frozen=True, kw_only=True)
class NotificationEntry:
    """One event for one subscriber, and what became of it. Holds no URL and no secret: the
    subscriber is named by its key and looked up in the configuration when sending."""

    id: str
    deployment_id: str
    agent: str
    event_type: str
    #: The CloudEvent id (and ``webhook-id``): the same for every subscriber and every attempt.
    event_id: str
    subscriber: str
    channel: str
    #: When the transition happened (RFC 3339), the event's ``time``.
    time: str
    #: The deployment JSON as of the transition, serialised: the event's ``data``.
    data: str
    created_at: float
    #: When the current round of attempts began (the flush, or the last redelivery): the retry
    #: schedule counts from here.
    started_at: float
    state: EntryState = "pending"
    attempts: int = 0
    last_attempt_at: float | None = None
    #: The last attempt's outcome: an HTTP status (``"503"``) or an error kind (``"timeout"``).
    last_result: str | None = None
    next_attempt_at: float | None = None
    delivered_at: float | None = None
    etag: str | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The entry as the API shows it (no payload, nothing secret)."""
        return {
            "id": self.id,
            "deployment_id": self.deployment_id,
            "agent": self.agent,
            "type": self.event_type,
            "event_id": self.event_id,
            "subscriber": self.subscriber,
            "channel": self.channel,
            "state": self.state,
            "attempts": self.attempts,
            "last_result": self.last_result,
            "last_attempt_at": _iso(self.last_attempt_at),
            "next_attempt_at": _iso(self.next_attempt_at),
            "delivered_at": _iso(self.delivered_at),
            "created_at": _iso(self.created_at),
        }


def _iso(epoch: float | None) -> str | None:
    return iso(epoch) if epoch is not None else None


@dataclass(frozen=True, kw_only=True)
class QueuedNotification:
    """An entry of the delivery queue: a pending entry a sender must try after ``due``."""

    entry_id: str
    due: float
    etag: str | None = field(default=None, compare=False)


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """What one send gave: an HTTP status, or an error kind (``timeout``, ``connection_error``,
    ``tls_error``, ``address_refused``, ``subscriber_removed``), and a ``Retry-After`` in seconds."""

    status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None

    @property
    def result(self) -> str:
        return str(self.status) if self.status is not None else (self.error or "error")


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)
