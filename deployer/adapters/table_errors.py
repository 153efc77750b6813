"""A missing table is an outage, never "no row".

Table Storage answers 404 both for a row that is not there and for a table that is not there
(error code ``TableNotFound``; an insert into a missing table may come back as a bare 404, since
an insert has no row to miss). The app never creates its table (its identity holds a
table-scoped role; infra creates it), so a missing table must stop the request with
:class:`deployer.ports.StoreUnavailable` instead of reading as an empty partition.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from deployer.domain.errors import Conflict, StoreUnavailable

TABLE_NOT_FOUND = "TableNotFound"
_C = TypeVar("_C", bound=type)


def table_missing(exc: HttpResponseError) -> bool:
    """``exc`` says the table itself does not exist."""
    return getattr(exc, "error_code", None) == TABLE_NOT_FOUND


def row_missing(exc: ResourceNotFoundError) -> None:
    """Called where a 404 means "no such row": re-raises ``exc`` when the table is missing."""
    if table_missing(exc):
        raise exc


def replace_if_unchanged(table: TableClient, entity: dict[str, Any], etag: str | None) -> str:
    """Replace ``entity`` only if it still has ``etag``; its new ETag. :class:`Conflict` if it
    changed or was deleted since it was read (a missing table is left to the caller's wrapper)."""
    try:
        meta = table.update_entity(
            entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
        )
    except ResourceModifiedError:
        raise Conflict(entity["RowKey"]) from None
    except ResourceNotFoundError as exc:
        row_missing(exc)
        raise Conflict(entity["RowKey"]) from None
    return str(meta["etag"])


def translate_missing_table(cls: _C) -> _C:
    """Wrap the public methods ``cls`` defines so that a 404 escaping them (rows that may be
    absent are handled inside, so only a missing table is left) raises :class:`StoreUnavailable`."""
    for name, value in list(vars(cls).items()):
        if callable(value) and not name.startswith("_"):
            setattr(cls, name, _translated(value))
    return cls


def _translated(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except HttpResponseError as exc:
            if isinstance(exc, ResourceNotFoundError) or table_missing(exc):
                raise StoreUnavailable(TABLE_NOT_FOUND) from exc
            raise

    return call
