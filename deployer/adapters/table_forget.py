"""Deleting rows in bulk, for history retention: entity-group transactions of at most 100 rows
of one partition (the service's limit), each row deleted only if its ETag still matches when one
is given. A transaction is all or nothing, so one that fails because a row changed or went away
meanwhile is done again row by row, leaving that row alone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError
from azure.data.tables import TableClient, TableTransactionError

#: The most operations one entity-group transaction may hold.
TRANSACTION_ROWS = 100
#: (PartitionKey, RowKey, ETag or ``None``: whatever it holds now).
Row = tuple[str, str, str | None]


def delete_rows(table: TableClient, rows: Sequence[Row]) -> list[Row]:
    """Delete ``rows`` (all of one partition); the ones deleted (or found gone already)."""
    deleted: list[Row] = []
    for start in range(0, len(rows), TRANSACTION_ROWS):
        chunk = rows[start : start + TRANSACTION_ROWS]
        try:
            table.submit_transaction([_operation(row) for row in chunk])
        except TableTransactionError as exc:
            if exc.status_code not in (404, 409, 412):
                raise
            deleted += [row for row in chunk if _delete_one(table, row)]
        else:
            deleted += chunk
    return deleted


def _operation(row: Row) -> tuple[str, dict[str, Any], dict[str, Any]]:
    partition, key, etag = row
    condition = {"etag": etag, "match_condition": MatchConditions.IfNotModified} if etag else {}
    return ("delete", {"PartitionKey": partition, "RowKey": key}, condition)


def _delete_one(table: TableClient, row: Row) -> bool:
    _, entity, condition = _operation(row)
    try:  # a row gone already is no error (the SDK's delete answers nothing for a 404)
        table.delete_entity(entity["PartitionKey"], entity["RowKey"], **condition)
    except ResourceModifiedError:
        return False
    return True
