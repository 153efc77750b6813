"""The outbox on Azure Table Storage, in the deployer's table (mixed into ``TableDeploymentStore``).

| PartitionKey | RowKey | holds | read by |
|---|---|---|---|
| ``n`` | entry id | the entry: state, attempts, payload | point reads; the notifications API |
| ``q`` | entry id | a pending entry's ``due`` (epoch s) | the sender: ``due le now`` |

The entry id is ``<deployment id>.<status>.<subscriber key>``.

``n`` rows are inserted if absent (deterministic ids make a repeated flush harmless) and
replaced only with their ETag; ``q`` rows are inserted if absent, leased and moved with their
ETag, and deleted once an entry is delivered or dead, so a sender reads only what is due.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient

from deployer.adapters.table_errors import replace_if_unchanged, row_missing, translate_missing_table
from deployer.domain.notifications import NotificationEntry, QueuedNotification

NOTIFICATIONS, QUEUE = "n", "q"
_FIELDS = (
    "deployment_id",
    "agent",
    "event_type",
    "event_id",
    "subscriber",
    "channel",
    "time",
    "data",
    "created_at",
    "started_at",
    "state",
    "attempts",
    "last_attempt_at",
    "last_result",
    "next_attempt_at",
    "delivered_at",
)


@translate_missing_table
class TableNotificationStore:
    """:class:`deployer.ports.NotificationStore` over the deployer's table."""

    _table: TableClient
    entities_read: int

    def add_notification(self, entry: NotificationEntry) -> bool:
        try:
            self._table.create_entity(_to_entity(entry))
        except ResourceExistsError:
            return False
        return True

    def get_notification(self, entry_id: str) -> NotificationEntry | None:
        try:
            entity = self._table.get_entity(NOTIFICATIONS, entry_id)
        except ResourceNotFoundError as exc:
            row_missing(exc)
            return None
        self.entities_read += 1
        return _from_entity(entity)

    def save_notification(self, entry: NotificationEntry) -> NotificationEntry:
        etag = replace_if_unchanged(self._table, _to_entity(entry), entry.etag)
        return replace(entry, etag=etag)

    def list_notifications(
        self, *, state: str | None = None, limit: int = 50, after: str | None = None
    ) -> list[NotificationEntry]:
        clauses, params = ["PartitionKey eq @pk"], {"pk": NOTIFICATIONS}
        if state is not None:
            clauses.append("state eq @state")
            params["state"] = state
        if after:
            clauses.append("RowKey gt @after")
            params["after"] = after
        found: list[NotificationEntry] = []
        for entity in self._table.query_entities(
            " and ".join(clauses), parameters=params, results_per_page=limit
        ):
            self.entities_read += 1
            found.append(_from_entity(entity))
            if len(found) >= limit:
                break
        return found

    def enqueue_notification(self, entry_id: str, due: float) -> None:
        # Already queued, perhaps leased by a sender: leave it as it is.
        with suppress(ResourceExistsError):
            self._table.create_entity({"PartitionKey": QUEUE, "RowKey": entry_id, "due": float(due)})

    def requeue_notification(self, queued: QueuedNotification) -> QueuedNotification:
        entity = {"PartitionKey": QUEUE, "RowKey": queued.entry_id, "due": float(queued.due)}
        return replace(queued, etag=replace_if_unchanged(self._table, entity, queued.etag))

    def due_notifications(self, now: float, limit: int) -> list[QueuedNotification]:
        pages = self._table.query_entities(
            "PartitionKey eq @pk and due le @now",
            parameters={"pk": QUEUE, "now": float(now)},
            results_per_page=min(limit, 1000),
        )
        found: list[QueuedNotification] = []
        for entity in pages:
            self.entities_read += 1
            found.append(
                QueuedNotification(
                    entry_id=entity["RowKey"], due=float(entity["due"]), etag=entity.metadata["etag"]
                )
            )
            if len(found) >= limit:
                break
        return found

    def dequeue_notification(self, queued: QueuedNotification) -> None:
        try:
            self._table.delete_entity(
                QUEUE, queued.entry_id, etag=queued.etag, match_condition=MatchConditions.IfNotModified
            )
        except ResourceModifiedError:
            pass  # leased again by another sender: theirs now
        except ResourceNotFoundError as exc:
            row_missing(exc)


def _to_entity(entry: NotificationEntry) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": NOTIFICATIONS, "RowKey": entry.id}
    entity.update({name: getattr(entry, name) for name in _FIELDS if getattr(entry, name) is not None})
    return entity


def _from_entity(entity: Any) -> NotificationEntry:
    values = {name: entity.get(name) for name in _FIELDS if entity.get(name) is not None}
    return NotificationEntry(id=entity["RowKey"], etag=entity.metadata["etag"], **values)
