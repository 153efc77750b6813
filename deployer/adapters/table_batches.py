"""Writing many rows of one partition in entity-group transactions (at most 100 operations each,
the service's limit), each row conditional on its ETag: one round trip per transaction when no
row changed. A transaction is all or nothing, so one that fails because a row changed, exists
already or went away writes nothing; its items are then written one by one, so exactly those
still unchanged are written."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from deployer.adapters.table_errors import table_missing

#: The most operations one entity-group transaction may hold.
TRANSACTION_ROWS = 100
#: What ``TableClient.submit_transaction`` takes: (kind, entity, keyword arguments).
Operation = tuple[str, dict[str, Any], dict[str, Any]]
#: Statuses of a transaction that failed on one of its rows (exists, gone, changed).
ROW_REFUSED = (404, 409, 412)

_T = TypeVar("_T")
_R = TypeVar("_R")


def replacing(entity: dict[str, Any], etag: str) -> Operation:
    """A transaction step that replaces ``entity`` if its ETag is still ``etag``."""
    return (
        "update",
        entity,
        {"mode": UpdateMode.REPLACE, "etag": etag, "match_condition": MatchConditions.IfNotModified},
    )


def saving(entity: dict[str, Any], etag: str | None) -> Operation:
    """A transaction step that inserts ``entity`` (no ETag) or replaces it if unchanged."""
    return ("create", entity, {}) if etag is None else replacing(entity, etag)


def row_refused(exc: TableTransactionError) -> bool:
    """``exc`` failed a transaction on one of its rows, not on the table or the request."""
    return not table_missing(exc) and exc.status_code in ROW_REFUSED


def chunks(items: Sequence[_T], size: Callable[[_T], int]) -> Iterator[Sequence[_T]]:
    """``items`` in order, whole, at most :data:`TRANSACTION_ROWS` rows a chunk (``size``: an
    item's rows; an item larger than that alone)."""
    chunk: list[_T] = []
    rows = 0
    for item in items:
        if chunk and rows + size(item) > TRANSACTION_ROWS:
            yield chunk
            chunk, rows = [], 0
        chunk.append(item)
        rows += size(item)
    if chunk:
        yield chunk


def each_together(
    table: TableClient,
    items: Sequence[_T],
    operations: Callable[[_T], Sequence[Operation]],
    *,
    written: Callable[[_T, Sequence[Any]], _R],
    alone: Callable[[_T], _R],
) -> list[_R]:
    """Each item's ``operations``, as many whole items to a transaction as fit; per item,
    ``written(item, its rows' metadata)`` when its transaction committed, else ``alone(item)``
    (which writes it by itself)."""
    results: list[_R] = []
    for chunk in chunks([(item, operations(item)) for item in items], lambda pair: len(pair[1])):
        try:
            metas = list(table.submit_transaction([op for _, ops in chunk for op in ops]))
        except TableTransactionError as exc:
            if not row_refused(exc):
                raise
            results += [alone(item) for item, _ in chunk]
            continue
        ends = list(accumulate(len(ops) for _, ops in chunk))
        starts = [0, *ends[:-1]]
        results += [written(item, metas[s:e]) for (item, _), s, e in zip(chunk, starts, ends, strict=True)]
    return results
