"""The errors services raise, in the domain's words. ``deployer.entrypoints.http.problems`` turns
each into an ``application/problem+json`` answer in one table; the poll and the triggers retry or
log them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Problem ``type`` URIs (RFC 9457) are this prefix and a slug: the API's and the CLI's own.
PROBLEM_TYPE_PREFIX = "urn:agent-deployer:problem:"


class Conflict(Exception):
    """A conditional write lost: the entity exists already, or changed since it was read."""


class StoreUnavailable(Exception):
    """The store cannot be used at all (its table does not exist): nothing was read or written.
    ``code`` names why (``TableNotFound``); it is never read as "no row"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class PlatformError(Exception):
    """Foundry (or the container registry) refused or failed a call. ``retryable`` is true for
    throttling, 5xx errors and an unreachable service, once the SDK's own retries are spent."""

    def __init__(self, *, code: str, message: str, status_code: int | None, retryable: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status_code = status_code
        self.retryable = retryable


class RoleAssignmentError(Exception):
    """ARM refused or failed a role assignment: its error ``code`` and ``message``, and the HTTP
    ``status_code`` (``None`` when ARM could not be reached)."""

    def __init__(self, *, code: str, message: str, status_code: int | None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status_code = status_code


class Refused(Exception):
    """A request refused before anything was written: ``slug`` names why (``unknown-agent``,
    ``busy``, ...), ``detail`` says, for a person, what to change; ``extra`` adds members such as
    ``errors`` (a list of field problems)."""

    def __init__(self, slug: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.extra: Mapping[str, Any] = extra
