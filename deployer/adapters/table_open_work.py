"""The open-work index on Azure Table Storage, in the deployer's table (mixed into
``TableDeploymentStore``): the ``o|`` rows of partition ``d`` (``table_layout.py``), one per
deployment the poll must look at, with ``due`` (epoch s), ``attempt`` and, for a creating
version with nothing else pending, what a look at it needs (``look``, JSON). The poll reads
``due le now`` within the ``o|`` range; a lease is a conditional move of ``due``, a tick's
leases go up to 100 in one entity-group transaction (:meth:`TableOpenWork.lease`).
:meth:`TableOpenWork.schedule_by` only ever moves ``due`` earlier, so a path that does not own
the deployment cannot delay the owner's next look.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from deployer.adapters.table_batches import Operation, each_together, replacing
from deployer.adapters.table_errors import (
    replace_if_unchanged,
    row_missing,
    translate_missing_table,
)
from deployer.adapters.table_layout import OPEN, OPEN_END, RECORDS, Migrated, open_row
from deployer.domain.errors import Conflict
from deployer.domain.platform import QuietLook, Scheduled

_RACES = 5


@translate_missing_table
class TableOpenWork:
    """``schedule``, ``lease``, ``schedule_by``, ``due``, ``scheduled`` and ``unschedule`` of
    ``DeploymentStore``."""

    _table: TableClient
    _layout: Migrated
    entities_read: int

    def schedule(self, entry: Scheduled) -> Scheduled:
        entity = open_entity(entry)
        if entry.etag is None:
            meta = self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
            return replace(entry, etag=meta["etag"])
        return replace(entry, etag=replace_if_unchanged(self._table, entity, entry.etag))

    def lease(self, entries: Sequence[Scheduled]) -> list[Scheduled | None]:
        """ETag-conditional replaces, 100 to a transaction (the rows share partition ``d``);
        the entries of a transaction that one changed or missing row failed are leased one by
        one, so exactly those still unchanged are leased."""

        def operations(e: Scheduled) -> list[Operation]:
            assert e.etag is not None, "a lease replaces the row as it was read"
            return [replacing(open_entity(e), e.etag)]

        def written(e: Scheduled, metas: Sequence[Any]) -> Scheduled | None:
            return replace(e, etag=metas[0]["etag"])

        return each_together(self._table, entries, operations, written=written, alone=self._lease_one)

    def _lease_one(self, entry: Scheduled) -> Scheduled | None:
        try:
            return self.schedule(entry)
        except Conflict:
            return None

    def schedule_by(self, entry: Scheduled) -> None:
        self._layout.ensure()
        row = open_row(entry.deployment_id)
        for _ in range(_RACES):
            try:
                self._table.create_entity(open_entity(entry))
                return
            except ResourceExistsError:
                pass
            try:
                current = self._table.get_entity(RECORDS, row)
            except ResourceNotFoundError as exc:
                row_missing(exc)
                continue  # removed meanwhile: insert it again
            if float(current["due"]) <= entry.due:
                return
            try:
                self._table.update_entity(
                    {"PartitionKey": RECORDS, "RowKey": row, "due": float(entry.due)},
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
        self._layout.ensure()
        pages = self._table.query_entities(
            "PartitionKey eq @pk and RowKey ge @first and RowKey lt @end and due le @now",
            parameters={"pk": RECORDS, "first": OPEN, "end": OPEN_END, "now": float(now)},
            results_per_page=min(limit, 1000),
        )
        found: list[Scheduled] = []
        for entity in pages:
            self.entities_read += 1
            found.append(scheduled_from(entity))
            if len(found) >= limit:
                break
        return found

    def scheduled(self, deployment_id: str) -> Scheduled | None:
        self._layout.ensure()
        try:
            entity = self._table.get_entity(RECORDS, open_row(deployment_id))
        except ResourceNotFoundError as exc:
            row_missing(exc)
            return None
        self.entities_read += 1
        return scheduled_from(entity)

    def unschedule(self, deployment_id: str) -> None:
        self._table.delete_entity(RECORDS, open_row(deployment_id))


def open_entity(entry: Scheduled) -> dict[str, Any]:
    return {
        "PartitionKey": RECORDS,
        "RowKey": open_row(entry.deployment_id),
        "due": float(entry.due),
        "attempt": entry.attempt,
        "look": json.dumps(asdict(entry.look)) if entry.look else None,
    }


def scheduled_from(entity: Any) -> Scheduled:
    look = entity.get("look")
    return Scheduled(
        deployment_id=entity["RowKey"][len(OPEN) :],
        due=float(entity["due"]),
        attempt=int(entity.get("attempt", 0)),
        etag=entity.metadata["etag"],
        look=QuietLook(**json.loads(look)) if look else None,
    )
