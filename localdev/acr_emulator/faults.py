"""Injected faults: the next ``count`` registry requests matching ``method`` and ``path`` answer
``status`` with an ACR-shaped error instead of being served (an outage, throttling), set through
``PUT /_emulator/faults``. The Foundry emulator's faults have the same shape."""

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
    status: int
    method: str | None = None
    count: int = 1

    def matches(self, method: str, path: str) -> bool:
        if self.count <= 0 or (self.method is not None and self.method.upper() != method.upper()):
            return False
        return re.search(self.path, path) is not None

    def error(self) -> RegistryError:
        code = _CODES.get(self.status, "UNKNOWN")
        return RegistryError(self.status, code, f"Injected fault answering with {self.status}.")

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "method": self.method, "count": self.count}


def parse_faults(body: Any) -> list[Fault]:
    """``{"faults": [{"path", "status", "method"?, "count"?}]}``; 400 when malformed."""
    items = body.get("faults") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise bad_request("INVALID_REQUEST", 'The body must be {"faults": [{"path", "status"}, ...]}.')
    return [_fault(item) for item in items]


def _fault(item: Any) -> Fault:
    if not isinstance(item, dict) or set(item) - {"path", "status", "method", "count"}:
        raise bad_request("INVALID_REQUEST", 'Each fault is {"path", "status", "method"?, "count"?}.')
    path, status = item.get("path"), item.get("status")
    method, count = item.get("method"), item.get("count", 1)
    try:
        re.compile(path if isinstance(path, str) else "(")
    except re.error as exc:
        message = f"A fault's 'path' must be a regular expression: {exc}."
        raise bad_request("INVALID_REQUEST", message) from exc
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        raise bad_request("INVALID_REQUEST", "A fault's 'status' must be an HTTP error status (400-599).")
    if method is not None and not isinstance(method, str):
        raise bad_request("INVALID_REQUEST", "A fault's 'method' must be a string.")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise bad_request("INVALID_REQUEST", "A fault's 'count' must be a whole number of at least 1.")
    return Fault(path=str(path), status=HTTPStatus(status), method=method, count=count)
