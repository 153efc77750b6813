"""Quiet looks: a creating version whose record has nothing else pending (its runtime role
settled, no notification left to flush) is looked at from its open-work entry alone. The next
look's time is written first, conditionally on the entry's ETag: that write is also the lease
(no other worker takes the entry before then). If the version is still creating, that was the
look's only Table request; anything else (the version changed, the platform did not answer
with the version, the agent's timeout passed) hands the entry to the full look, which reads
the record under a lease as long as the poll's."""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import replace

from deployer.context import Context
from deployer.domain.agents import AgentConfig
from deployer.domain.clock import parse_iso
from deployer.domain.errors import Conflict, PlatformError
from deployer.domain.model import Deployment
from deployer.domain.platform import QuietLook, Scheduled
from deployer.domain.transitions import backoff, next_look
from deployer.notify import outbox

log = logging.getLogger(__name__)
#: Version statuses that end creating (``observe``): the full look handles them.
_CHANGED = frozenset({"active", "failed", "deleting", "deleted"})


def of(ctx: Context, agent: AgentConfig, d: Deployment) -> QuietLook | None:
    """The quiet look for ``d`` as just looked at, or ``None`` when the next look must be full."""
    role = d.runtime_role
    if d.version is None or role is None or not role.settled or role.status == "failed":
        return None
    if outbox.has_notifications(ctx, d):
        return None
    return QuietLook(
        agent=d.agent,
        version=d.version,
        endpoint=ctx.endpoint_of(agent, d),
        began_at=parse_iso(d.began_at),
        expected_active_s=d.expected_active_s,
    )


def look(ctx: Context, entry: Scheduled, now: float) -> Scheduled | None:
    """Look at ``entry``'s version with its quiet look; ``None`` when that was all (nothing
    changed, another worker has it, the platform failed and the look is retried later), else the
    entry as written, for the full look."""
    quiet = entry.look
    assert quiet is not None
    agent = ctx.config.agent(quiet.agent)
    age = now - quiet.began_at
    if agent is None or age >= agent.timeout_s:
        return entry
    delay = next_look(entry.attempt + 1, age, quiet.expected_active_s)
    try:
        leased = ctx.store.schedule(replace(entry, due=now + delay, attempt=entry.attempt + 1))
    except Conflict:
        return None  # another worker took it
    try:
        info = ctx.platform.get_version(quiet.endpoint, quiet.agent, quiet.version)
    except PlatformError as exc:
        if exc.status_code == 404:
            return leased
        log.warning("deployment %s: Foundry unavailable (%s); retrying later", entry.deployment_id, exc.code)
        with suppress(Conflict):
            ctx.store.schedule(replace(leased, due=now + backoff(entry.attempt)))
        return None
    return leased if info.status in _CHANGED else None
