"""The open-work index on Azure Table Storage, in the deployer's table (mixed into
``TableDeploymentStore``): partition ``o``, one row per deployment the poll must look at, with
``due`` (epoch s) and ``attempt``. The poll reads ``due le now``; a lease is a conditional move
of ``due``. :meth:`TableOpenWork.schedule_by` only ever moves ``due`` earlier, so a path that does
not own the deployment cannot delay the owner's next look.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from deployer.adapters.table_errors import replace_if_unchanged, row_missing, translate_missing_table
from deployer.domain.errors import Conflict
from deployer.domain.platform import Scheduled

OPEN = "o"
_RACES = 5


@translate_missing_table
class TableOpenWork:
    """``schedule``, ``schedule_by``, ``due`` and ``unschedule`` of ``DeploymentStore``."""

    _table: TableClient
    entities_read: int

    def schedule(self, entry: Scheduled) -> Scheduled:
        entity = _entity(entry)
        if entry.etag is None:
            meta = self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
            return replace(entry, etag=meta["etag"])
        return replace(entry, etag=replace_if_unchanged(self._table, entity, entry.etag))

    def schedule_by(self, entry: Scheduled) -> None:
        for _ in range(_RACES):
            try:
                self._table.create_entity(_entity(entry))
                return
            except ResourceExistsError:
                pass
            try:
                current = self._table.get_entity(OPEN, entry.deployment_id)
            except ResourceNotFoundError as exc:
                row_missing(exc)
                continue  # removed meanwhile: insert it again
            if float(current["due"]) <= entry.due:
                return
            try:
                self._table.update_entity(
                    {"PartitionKey": OPEN, "RowKey": entry.deployment_id, "due": float(entry.due)},
                    mode=UpdateMode.MERGE,
                    etag=current.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
                return
            except ResourceModifiedError:
                continue
            except ResourceNotFoundError as exc:
                row_missing(exc)
                continue
        raise Conflict(entry.deployment_id)

    def due(self, now: float, limit: int) -> list[Scheduled]:
        pages = self._table.query_entities(
            "PartitionKey eq @pk and due le @now",
            parameters={"pk": OPEN, "now": float(now)},
            results_per_page=min(limit, 1000),
        )
        found: list[Scheduled] = []
        for entity in pages:
            self.entities_read += 1
            found.append(
                Scheduled(
                    deployment_id=entity["RowKey"],
                    due=float(entity["due"]),
                    attempt=int(entity.get("attempt", 0)),
                    etag=entity.metadata["etag"],
                )
            )
            if len(found) >= limit:
                break
        return found

    def unschedule(self, deployment_id: str) -> None:
        self._table.delete_entity(OPEN, deployment_id)


def _entity(entry: Scheduled) -> dict[str, Any]:
    return {
        "PartitionKey": OPEN,
        "RowKey": entry.deployment_id,
        "due": float(entry.due),
        "attempt": entry.attempt,
    }
