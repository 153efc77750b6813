"""The ports of the outbox: its storage and the two ways out (HTTP webhooks, Event Grid topics).
Adapters: ``table_outbox.py``, ``safe_http.py``, ``eventgrid_topic.py``; tests use fakes.

Every conditional write raises ``deployer.ports.Conflict`` when it loses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from deployer.notify.entries import NotificationEntry, QueuedNotification
from deployer.notify.retry import Attempt


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


class WebhookTransport(Protocol):
    """Sends one POST to a webhook URL: resolving, checking and connecting safely."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Attempt: ...


class TopicPublisher(Protocol):
    """Publishes one CloudEvent to an Event Grid custom topic."""

    def publish(self, endpoint: str, event: Mapping[str, Any]) -> Attempt: ...
