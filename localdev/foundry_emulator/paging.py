"""Cursor pagination as the Foundry list operations answer it.

Replies are ``{"object": "list", "data": [...], "first_id", "last_id", "has_more"}``. The SDK
pager passes ``last_id`` back as ``after`` until a page yields no ``last_id``; an empty page has
``last_id`` null, which ends the iteration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from localdev.foundry_emulator.errors import bad_request

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class PageRequest:
    """The ``limit``, ``order``, ``after`` and ``before`` query parameters of a list call."""

    limit: int = DEFAULT_LIMIT
    order: str = "desc"
    after: str | None = None
    before: str | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> PageRequest:
        """Parse and validate the query parameters (400 on bad values)."""
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
        except ValueError as exc:
            raise bad_request("'limit' must be an integer.", param="limit") from exc
        if not 1 <= limit <= MAX_LIMIT:
            raise bad_request(f"'limit' must be between 1 and {MAX_LIMIT}.", param="limit")
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise bad_request("'order' must be 'asc' or 'desc'.", param="order")
        return cls(limit=limit, order=order, after=query.get("after"), before=query.get("before"))


def paginate(
    entries: list[tuple[int, dict[str, Any]]],
    request: PageRequest,
    cursor_key: Callable[[str], int],
) -> dict[str, Any]:
    """Return one page of ``entries`` (``(sort key, JSON object)`` pairs) as a list reply.

    ``cursor_key`` maps an ``after``/``before`` object id to its sort key (400 if unknown).
    """
    descending = request.order == "desc"
    ordered = sorted(entries, key=lambda entry: entry[0], reverse=descending)
    if request.after is not None:
        mark = cursor_key(request.after)
        ordered = [e for e in ordered if (e[0] < mark if descending else e[0] > mark)]
    if request.before is not None:
        mark = cursor_key(request.before)
        ordered = [e for e in ordered if (e[0] > mark if descending else e[0] < mark)]
        if request.after is None:
            ordered = ordered[-request.limit :]
    data = [entry[1] for entry in ordered[: request.limit]]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(ordered) > request.limit,
    }
