"""Function and system keys, checked as the Functions host checks them.

- An HTTP route at ``AuthLevel.FUNCTION`` needs the function key, in the ``x-functions-key``
  header or the ``code`` query parameter; ``ANONYMOUS`` needs nothing; ``ADMIN`` needs the master
  key, which the dev host does not have, so it is refused while keys are checked.
- ``/runtime/webhooks/eventgrid`` needs the ``eventgrid_extension`` system key, the same two ways.
- Otherwise 401 with an empty body.

Keys come from ``DEVHOST_FUNCTION_KEY`` and ``DEVHOST_EVENTGRID_KEY``; a key that is not set is
not checked (as under ``func start``, which checks no keys).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from .messages import IncomingRequest

__all__ = ["EVENTGRID_KEY_VARIABLE", "FUNCTION_KEY_VARIABLE", "HostKeys"]

FUNCTION_KEY_VARIABLE = "DEVHOST_FUNCTION_KEY"
EVENTGRID_KEY_VARIABLE = "DEVHOST_EVENTGRID_KEY"


@dataclass(frozen=True)
class HostKeys:
    """The keys the host checks; ``None``: that kind of key is not checked."""

    function: str | None = None
    eventgrid: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HostKeys:
        """The keys set in the environment."""
        source = os.environ if environ is None else environ
        return cls(source.get(FUNCTION_KEY_VARIABLE) or None, source.get(EVENTGRID_KEY_VARIABLE) or None)

    def allows_route(self, auth_level: str, request: IncomingRequest) -> bool:
        """Whether an HTTP route at ``auth_level`` may serve ``request``."""
        if self.function is None or auth_level == "anonymous":
            return True
        return auth_level == "function" and _matches(self.function, _presented(request))

    def allows_eventgrid(self, request: IncomingRequest) -> bool:
        """Whether the Event Grid webhook may serve ``request``."""
        return self.eventgrid is None or _matches(self.eventgrid, _presented(request))


def _presented(request: IncomingRequest) -> str | None:
    header = request.header("x-functions-key")
    if header:
        return header
    codes = parse_qs(request.query).get("code")
    return codes[0] if codes else None


def _matches(expected: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(expected.encode(), presented.encode())
