"""Transport-neutral request and reply values passed between the HTTP server and handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from localdev import https_server
from localdev.foundry_emulator.errors import ApiError, bad_request


class Request(https_server.Request):
    """One Foundry request; an unreadable body is a 400 ``invalid_payload``."""

    def invalid(self, message: str) -> Exception:
        return bad_request(message)


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
