"""Transport-neutral request and reply values passed between the HTTP server and handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from localdev.foundry_emulator.errors import ApiError, bad_request


@dataclass(frozen=True)
class Request:
    """One HTTP request: ``path`` is the raw (still percent-encoded) path without the query."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """Return a header value by case-insensitive name."""
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)

    def json(self) -> Any:
        """Return the parsed JSON body, ``None`` when empty (400 when not JSON)."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise bad_request(f"The request body is not valid JSON: {exc}.") from exc
        except RecursionError as exc:
            raise bad_request("The request body is nested too deeply.") from exc


@dataclass
class Reply:
    """One HTTP reply with a JSON body."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def ok(body: Any, **headers: str) -> Reply:
    """Return a 200 reply."""
    return Reply(200, body, dict(headers))


def error_reply(error: ApiError) -> Reply:
    """Return the Azure-shaped reply for ``error``."""
    return Reply(error.status, error.body(), dict(error.headers))
