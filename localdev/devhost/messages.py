"""The dev host's transport-neutral request and reply."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["IncomingRequest", "Reply"]

TEXT_PLAIN = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class IncomingRequest:
    """One HTTP request as received: ``path`` and ``query`` still percent-encoded."""

    method: str
    url: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def merged_headers(self) -> dict[str, str]:
        """Headers by lower-case name, repeated ones joined with ``,``."""
        merged: dict[str, str] = {}
        for key, value in self.headers:
            name = key.lower()
            merged[name] = f"{merged[name]},{value}" if name in merged else value
        return merged

    def query_params(self) -> dict[str, str]:
        """Query parameters, repeated ones joined with ``,``."""
        params: dict[str, str] = {}
        for key, value in parse_qsl(self.query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        return params


@dataclass(frozen=True)
class Reply:
    """A response to send: status, headers (in order, repeats allowed) and body."""

    status: int
    headers: tuple[tuple[str, str], ...] = field(default=())
    body: bytes = b""

    @classmethod
    def text(cls, status: int, text: str, *, content_type: str = TEXT_PLAIN) -> Reply:
        """A reply with a UTF-8 text body."""
        return cls(status, (("Content-Type", content_type),), text.encode("utf-8"))

    @classmethod
    def json(cls, status: int, document: Any) -> Reply:
        """A reply with a JSON body."""
        return cls.text(status, json.dumps(document), content_type="application/json; charset=utf-8")
