"""The short forms people type, resolved against the deployer: a digest prefix to the held
digest it names, an agent's name to its latest deployment (or its running canary). Standard
library only."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from deployer.cli.base import EXIT_ERROR, EXIT_REFUSED
from deployer.cli.client import Client

MIN_PREFIX = 12
_HEX = re.compile(r"[0-9a-f]+")


class CommandError(Exception):
    """What the command line asked cannot be done: the message for people and the exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def held_digest(client: Client, agent: str, text: str) -> str:
    """The held digest ``text`` names: the whole ``sha256:<64 hex>`` or a unique prefix of at
    least 12 hex digits, in any case, with or without ``sha256:``."""
    hexits = text.strip().lower().removeprefix("sha256:")
    if not _HEX.fullmatch(hexits) or len(hexits) < MIN_PREFIX:
        raise CommandError(f"{text!r}: give a digest, or at least its first {MIN_PREFIX} hex digits")
    if len(hexits) == 64:
        return f"sha256:{hexits}"
    holds = client.get(f"/api/agents/{quote(agent, safe='')}/holds")["items"]
    found = [h["digest"] for h in holds if str(h["digest"]).removeprefix("sha256:").startswith(hexits)]
    if not found:
        raise CommandError(f"{agent}: no held digest starts with {hexits}", EXIT_REFUSED)
    if len(found) > 1:
        raise CommandError(f"{agent}: {hexits} is the start of {len(found)} held digests: {', '.join(found)}")
    return str(found[0])


def is_agent(client: Client, name: str) -> bool:
    """Whether ``name`` is a configured agent (rather than a deployment id)."""
    return any(a["name"] == name for a in client.get("/api/agents")["items"])


def latest(client: Client, agent: str, status: str | None = None) -> dict[str, Any] | None:
    """The agent's newest deployment (in ``status``, if given)."""
    items: list[dict[str, Any]] = client.get("/api/deployments", agent=agent, status=status, limit=1)["items"]
    return items[0] if items else None


def deployment_id(client: Client, text: str) -> str:
    """``text`` as a deployment id: an agent's name stands for its latest deployment."""
    if not is_agent(client, text):
        return text
    found = latest(client, text)
    if found is None:
        raise CommandError(f"{text}: no deployments yet", EXIT_REFUSED)
    return str(found["id"])
