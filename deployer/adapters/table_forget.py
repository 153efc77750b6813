"""Deleting rows in bulk, for history retention: entity-group transactions of at most 100 rows
of one partition (the service's limit), each row deleted only if its ETag still matches when one
is given. Rows that belong together (a record and its idempotency keys) are a *group*, always in
the same transaction. A transaction is all or nothing, so one that fails because a row changed
or went away meanwhile is done again row by row, leaving that row alone: a group's followers (the
keys) first, then its first row (the record), so a crash between the two leaves a record without
keys, never a key naming a missing record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError
from azure.data.tables import TableClient, TableTransactionError

from deployer.adapters.table_batches import TRANSACTION_ROWS, chunks

#: (PartitionKey, RowKey, ETag or ``None``: whatever it holds now).
Row = tuple[str, str, str | None]
#: Rows deleted together: the first decides (deleted only if its ETag matches), the others follow it.
Group = Sequence[Row]


def delete_rows(table: TableClient, rows: Sequence[Row]) -> list[Row]:
    """Delete ``rows`` (all of one partition); the ones deleted (or found gone already)."""
    return [group[0] for group in delete_groups(table, [(row,) for row in rows])]


def delete_groups(table: TableClient, groups: Sequence[Group]) -> list[Group]:
    """Delete ``groups`` (all of one partition), each in one transaction with others as long as
    they fit; the groups whose first row was deleted (or found gone already)."""
    deleted: list[Group] = []
    for chunk in chunks(groups, len):
        if sum(len(group) for group in chunk) > TRANSACTION_ROWS:  # one group too large for one
            deleted += [group for group in chunk if _delete_group(table, group)]
            continue
        try:
            table.submit_transaction([_operation(row) for group in chunk for row in group])
        except TableTransactionError as exc:
            if exc.status_code not in (404, 409, 412):
                raise
            deleted += [group for group in chunk if _delete_group(table, group)]
        else:
            deleted += chunk
    return deleted


def _operation(row: Row) -> tuple[str, dict[str, Any], dict[str, Any]]:
    partition, key, etag = row
    condition = {"etag": etag, "match_condition": MatchConditions.IfNotModified} if etag else {}
    return ("delete", {"PartitionKey": partition, "RowKey": key}, condition)


def _delete_group(table: TableClient, group: Group) -> bool:
    for row in group[1:]:
        _delete_one(table, row)
    return _delete_one(table, group[0])


def _delete_one(table: TableClient, row: Row) -> bool:
    _, entity, condition = _operation(row)
    try:  # a row gone already is no error (the SDK's delete answers nothing for a 404)
        table.delete_entity(entity["PartitionKey"], entity["RowKey"], **condition)
    except ResourceModifiedError:
        return False
    return True
