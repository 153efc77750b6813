"""Route parameters of the holds routes read once into a frozen value, or refused. Pure: a
refused request has written nothing."""

from __future__ import annotations

from dataclasses import dataclass

from deployer.domain.errors import Refused
from deployer.domain.imageref import DIGEST
from deployer.entrypoints.http.requests import parse_agent_name


@dataclass(frozen=True, kw_only=True)
class HoldRef:
    """``POST /api/agents/{agent}/holds/{digest}/release``: the agent and the held digest."""

    agent: str
    digest: str


def parse_hold_ref(agent: str, digest: str) -> HoldRef:
    """The agent name and digest of a release request; ``sha256:`` and 64 lowercase hex digits."""
    name = parse_agent_name(agent)
    if not DIGEST.fullmatch(digest):
        raise Refused(
            "invalid-query",
            f"{digest[:80]!r} is not a digest: send sha256: and 64 lowercase hex digits, as "
            f"GET /api/agents/{name}/holds lists it",
        )
    return HoldRef(agent=name, digest=digest)
