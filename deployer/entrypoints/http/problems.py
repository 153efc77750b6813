"""Errors as ``application/problem+json`` (RFC 9457): what went wrong and what to do about it.

Every refusal of the API is a :class:`Problem`. Code below the triggers raises domain errors
(:class:`~deployer.domain.errors.Refused` with a slug, a lost race, a Foundry outage) and
:func:`problem_for` turns each into its problem, here and nowhere else, so a bad request can
never end as a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deployer.domain.errors import PROBLEM_TYPE_PREFIX, Conflict, PlatformError, Refused, StoreUnavailable

MEDIA_TYPE = "application/problem+json"
#: Problem ``type`` URIs are this prefix and a slug; the OpenAPI document lists the slugs.
TYPE_PREFIX = PROBLEM_TYPE_PREFIX

#: slug -> (HTTP status, title). The title is the same for every occurrence of a type.
TYPES: Mapping[str, tuple[int, str]] = {
    "invalid-body": (400, "The request body is not valid"),
    "invalid-query": (400, "A query parameter is not valid"),
    "invalid-header": (400, "A request header is not valid"),
    "unauthenticated": (401, "The caller could not be identified"),
    "forbidden": (403, "The caller may not do this"),
    "registry-not-allowed": (403, "The registry is not in the allow-list"),
    "not-found": (404, "Not found"),
    "unknown-agent": (404, "No such agent"),
    "method-not-allowed": (405, "The route does not accept this method"),
    "idempotency-key-reused": (409, "The Idempotency-Key was used for another request"),
    "request-in-progress": (409, "A request with this Idempotency-Key is still in progress"),
    "nothing-to-roll-back-to": (409, "There is no earlier deployment to roll back to"),
    "busy": (409, "The agent is being changed by other deployments"),
    "notification-not-dead": (409, "Only a dead notification can be redelivered"),
    "not-in-canary": (409, "The deployment is not in a canary"),
    "not-promotable": (409, "There is no verified deployment to promote"),
    "not-awaiting-approval": (409, "The deployment does not wait for an approval"),
    "paused-or-held": (409, "The agent is paused, or holds the image's digest"),
    "body-too-large": (413, "The request body is too large"),
    "unsupported-media-type": (415, "The request body must be JSON"),
    "not-allowed-by-config": (422, "The agent's configuration does not allow this"),
    "unavailable": (503, "A service the deployer depends on did not answer"),
}


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One problem document. ``detail`` says, for a person, what to change."""

    slug: str
    detail: str
    #: Extension members, e.g. ``errors`` (a list of field problems) or ``allowed``.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return TYPES[self.slug][0]

    def to_json(self) -> dict[str, Any]:
        """The RFC 9457 members, then the extensions."""
        status, title = TYPES[self.slug]
        body = {"type": TYPE_PREFIX + self.slug, "title": title, "status": status, "detail": self.detail}
        return {**body, **self.extra}


#: slug -> seconds a client should wait before sending the request again (``Retry-After``).
RETRY_AFTER_S: Mapping[str, int] = {"request-in-progress": 2, "busy": 2, "unavailable": 10}


def problem_for(exc: Exception) -> Problem | None:
    """The problem a domain error answers as; ``None`` for any other exception."""
    if isinstance(exc, Refused):
        return Problem(slug=exc.slug, detail=exc.detail, extra=exc.extra)
    if isinstance(exc, Conflict):
        detail = "the agent is being changed by other deployments at this moment: retry in a few seconds"
        return Problem(slug="busy", detail=detail)
    if isinstance(exc, PlatformError):
        detail = f"Foundry did not answer ({exc.code}); nothing was started: retry later"
        return Problem(slug="unavailable", detail=detail)
    if isinstance(exc, StoreUnavailable):
        detail = f"the deployer's Table Storage table cannot be used ({exc.code}): see /api/health"
        return Problem(slug="unavailable", detail=detail)
    return None
