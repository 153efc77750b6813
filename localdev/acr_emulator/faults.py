"""Injected faults: the next ``count`` registry requests matching ``method`` and ``path`` answer
``status`` with an ACR-shaped error instead of being served (an outage, throttling), or, with
``drop``, get no answer at all: the connection is closed (a registry that cannot be reached). Set
through ``PUT /_emulator/faults``. The Foundry emulator's faults have the same shape."""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from localdev.acr_emulator.wire import RegistryError, bad_request

_CODES = {429: "TOOMANYREQUESTS", 503: "UNAVAILABLE"}


@dataclass
class Fault:
    """``path``: a regular expression searched in the request path; ``method`` ``None``: any."""

    path: str
    status: int | None
    method: str | None = None
    count: int = 1
    drop: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.count <= 0 or (self.method is not None and self.method.upper() != method.upper()):
            return False
        return re.search(self.path, path) is not None

    def error(self) -> RegistryError:
        status = self.status or HTTPStatus.INTERNAL_SERVER_ERROR
        return RegistryError(
            status, _CODES.get(status, "UNKNOWN"), f"Injected fault answering with {status}."
        )

    def to_json(self) -> dict[str, Any]:
        found = {"path": self.path, "status": self.status, "method": self.method, "count": self.count}
        return {**found, "drop": True} if self.drop else found


def parse_faults(body: Any) -> list[Fault]:
    """``{"faults": [{"path", "status" or "drop": true, "method"?, "count"?}]}``; 400 when malformed."""
    items = body.get("faults") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise bad_request("INVALID_REQUEST", 'The body must be {"faults": [{"path", "status"}, ...]}.')
    return [_fault(item) for item in items]


def _fault(item: Any) -> Fault:
    if not isinstance(item, dict) or set(item) - {"path", "status", "method", "count", "drop"}:
        message = 'Each fault is {"path", "status" or "drop": true, "method"?, "count"?}.'
        raise bad_request("INVALID_REQUEST", message)
    path, status, drop = item.get("path"), item.get("status"), item.get("drop", False)
    method, count = item.get("method"), item.get("count", 1)
    try:
        re.compile(path if isinstance(path, str) else "(")
    except re.error as exc:
        message = f"A fault's 'path' must be a regular expression: {exc}."
        raise bad_request("INVALID_REQUEST", message) from exc
    if drop is not True and drop is not False:
        raise bad_request("INVALID_REQUEST", "A fault's 'drop' must be true or false.")
    if not _answer_given(status, drop=drop):
        message = "A fault has an HTTP error 'status' (400-599), or 'drop': true and no status."
        raise bad_request("INVALID_REQUEST", message)
    if method is not None and not isinstance(method, str):
        raise bad_request("INVALID_REQUEST", "A fault's 'method' must be a string.")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise bad_request("INVALID_REQUEST", "A fault's 'count' must be a whole number of at least 1.")
    answer = HTTPStatus(status) if status is not None else None
    return Fault(path=str(path), status=answer, method=method, count=count, drop=drop)


def _answer_given(status: Any, *, drop: bool) -> bool:
    """A dropped request gets no status; any other fault an HTTP error status."""
    if drop:
        return status is None
    return isinstance(status, int) and not isinstance(status, bool) and 400 <= status <= 599
