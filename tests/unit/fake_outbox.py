"""A hand-written in-memory NotificationStore (mixed into FakeStore), with ETags like the Table adapter."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace

from deployer.domain.errors import Conflict
from deployer.domain.notifications import Attempt, NotificationEntry, QueuedNotification


class FakeNotificationStore:
    """Outbox entries and the delivery queue in dicts; every conditional write checks the ETag."""

    def __init__(self) -> None:
        self.notifications: dict[str, NotificationEntry] = {}
        self.queue: dict[str, QueuedNotification] = {}
        self._outbox_etags = itertools.count(1)
        self._outbox_lock = threading.RLock()

    def _outbox_etag(self) -> str:
        return f"N/{next(self._outbox_etags)}"

    def add_notification(self, entry: NotificationEntry) -> bool:
        with self._outbox_lock:
            if entry.id in self.notifications:
                return False
            self.notifications[entry.id] = replace(entry, etag=self._outbox_etag())
            return True

    def get_notification(self, entry_id: str) -> NotificationEntry | None:
        with self._outbox_lock:
            return self.notifications.get(entry_id)

    def save_notification(self, entry: NotificationEntry) -> NotificationEntry:
        with self._outbox_lock:
            current = self.notifications.get(entry.id)
            if current is None or current.etag != entry.etag:
                raise Conflict(entry.id)
            stored = replace(entry, etag=self._outbox_etag())
            self.notifications[entry.id] = stored
            return stored

    def list_notifications(self, *, state=None, limit=50, after=None) -> list[NotificationEntry]:
        with self._outbox_lock:
            found = [
                e
                for k, e in sorted(self.notifications.items())
                if (state is None or e.state == state) and (after is None or k > after)
            ]
            return found[:limit]

    def enqueue_notification(self, entry_id: str, due: float) -> None:
        with self._outbox_lock:
            if entry_id not in self.queue:
                self.queue[entry_id] = QueuedNotification(
                    entry_id=entry_id, due=due, etag=self._outbox_etag()
                )

    def requeue_notification(self, queued: QueuedNotification) -> QueuedNotification:
        with self._outbox_lock:
            current = self.queue.get(queued.entry_id)
            if current is None or current.etag != queued.etag:
                raise Conflict(queued.entry_id)
            stored = replace(queued, etag=self._outbox_etag())
            self.queue[queued.entry_id] = stored
            return stored

    def due_notifications(self, now: float, limit: int) -> list[QueuedNotification]:
        with self._outbox_lock:
            return sorted((q for q in self.queue.values() if q.due <= now), key=lambda q: q.entry_id)[:limit]

    def dequeue_notification(self, queued: QueuedNotification) -> None:
        with self._outbox_lock:
            current = self.queue.get(queued.entry_id)
            if current is not None and current.etag == queued.etag:
                del self.queue[queued.entry_id]


class FakeTransport:
    """A WebhookTransport (and TopicPublisher) that records each request and answers from a script:
    ``answers[url]`` is a list of Attempts used in turn, the last one repeating (default 200)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []
        self.published: list[tuple[str, dict]] = []
        self.answers: dict[str, list[Attempt]] = {}
        self._lock = threading.Lock()

    def _answer(self, url: str) -> Attempt:
        script = self.answers.get(url) or [Attempt(status=200)]
        return script.pop(0) if len(script) > 1 else script[0]

    def post(self, url: str, body: bytes, headers) -> Attempt:
        with self._lock:
            self.sent.append((url, body, dict(headers)))
            return self._answer(url)

    def publish(self, endpoint: str, event) -> Attempt:
        with self._lock:
            self.published.append((endpoint, dict(event)))
            return self._answer(endpoint)

    def to(self, url: str) -> list[tuple[bytes, dict[str, str]]]:
        return [(body, headers) for u, body, headers in self.sent if u == url]
