"""Quiet looks: a creating version whose record has nothing else pending (its runtime role
settled, no notification left to flush) is looked at from its open-work entry alone. The next
look's time is written first, conditionally on the entry's ETag: that write is also the lease
(no other worker takes the entry before then). If the version is still creating, that was the
look's only Table request (a tick writes its leases together: ``DeploymentStore.lease``);
anything else (the version changed or is gone, the agent's timeout passed) hands the entry to
the full look, which reads the record under a lease as long as the poll's and takes the version
as this look saw it. A platform that did not answer puts the next look off (``backoff``)."""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import replace

from deployer.context import Context
from deployer.domain.agents import AgentConfig
from deployer.domain.clock import parse_iso
from deployer.domain.errors import Conflict, PlatformError
from deployer.domain.model import Deployment
from deployer.domain.platform import QuietLook, Scheduled, VersionInfo
from deployer.domain.transitions import backoff, next_look_at
from deployer.notify import outbox

log = logging.getLogger(__name__)
#: Version statuses that end creating (``observe``), and a version gone: the full look handles them.
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


def lease(ctx: Context, entry: Scheduled, now: float, tick_started: float) -> Scheduled | None:
    """``entry`` as a quiet look takes it: its next look's time (timed from the tick's start),
    which is also the lease; ``None`` when the look must be full (the agent left the
    configuration, or its timeout passed)."""
    quiet = entry.look
    assert quiet is not None
    agent = ctx.config.agent(quiet.agent)
    age = now - quiet.began_at
    if agent is None or age >= agent.timeout_s:
        return None
    due = next_look_at(
        entry.attempt + 1,
        began=quiet.began_at,
        tick_started=tick_started,
        now=now,
        expected_s=quiet.expected_active_s,
    )
    return replace(entry, due=due, attempt=entry.attempt + 1)


def look(ctx: Context, leased: Scheduled, now: float) -> VersionInfo | None:
    """Look at the version of an entry taken with :func:`lease` (and written): the version as
    seen when it changed (for the full look, which then does not ask again), ``None`` when that
    was all (still creating, or the platform failed and the look is retried later)."""
    quiet = leased.look
    assert quiet is not None
    try:
        info = version_or_gone(ctx, quiet.endpoint, quiet.agent, quiet.version)
    except PlatformError as exc:
        log.warning("deployment %s: Foundry unavailable (%s); retrying later", leased.deployment_id, exc.code)
        with suppress(Conflict):
            ctx.store.schedule(replace(leased, due=now + backoff(leased.attempt - 1)))
        return None
    return info if info.status in _CHANGED else None


def version_or_gone(ctx: Context, endpoint: str, agent: str, version: str) -> VersionInfo:
    """The version as Foundry reports it; ``deleted`` when Foundry no longer knows it (404)."""
    try:
        return ctx.platform.get_version(endpoint, agent, version)
    except PlatformError as exc:
        if exc.status_code != 404:
            raise
        return VersionInfo(
            version=version,
            status="deleted",
            error_code="version_not_found",
            error_message=f"version {version} no longer exists ({exc.message})",
        )
