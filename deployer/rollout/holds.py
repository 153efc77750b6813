"""Holds and pauses: what keeps pushes from deploying to an agent, kept on the agent's row.

A rollback (by a person, or automatic after a failed smoke test) holds the digest it moved
away from, so a later push or re-push of that digest is recorded ``skipped`` with reason
``held`` instead of undoing the rollback; a person releases it. While an agent is paused,
pushes are recorded ``skipped`` with reason ``paused``. Requests (API, CLI) still deploy.
Every change is a conditional update of the agent's row, retried on a lost race, and repeating
one changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from deployer.context import Context, change_agent
from deployer.domain import rollout
from deployer.domain.clock import iso
from deployer.domain.errors import Refused
from deployer.domain.imageref import DIGEST
from deployer.domain.model import AgentState
from deployer.domain.rollout_state import Hold

log = logging.getLogger(__name__)


def hold(
    ctx: Context,
    agent: str,
    digest: str,
    *,
    reason: str,
    by: str | None = None,
    deployment_id: str | None = None,
) -> AgentState:
    """Hold ``digest`` for ``agent`` (a no-op if it is held already)."""
    entry = Hold(digest=digest, reason=reason, at=iso(ctx.clock.now()), by=by, deployment_id=deployment_id)
    state = change_agent(ctx, _known(ctx, agent), lambda s: rollout.with_hold(s, entry))
    log.info("agent %s: digest %s held (%s)", agent, digest, reason)
    return state


def release(ctx: Context, agent: str, digest: str) -> bool:
    """Release the hold on ``digest``; ``False`` if there was none. :class:`Refused` for a
    malformed digest or an agent that is not configured."""
    if not DIGEST.fullmatch(digest):
        raise Refused("invalid-query", f"{digest!r} is not a digest (sha256: and 64 lowercase hex digits)")
    released: list[bool] = []

    def change(state: AgentState) -> AgentState | None:
        changed = rollout.without_hold(state, digest)
        released[:] = [changed is not None]
        return changed

    change_agent(ctx, _known(ctx, agent), change)
    if released[0]:
        log.info("agent %s: hold on %s released", agent, digest)
    return released[0]


def holds_of(ctx: Context, agent: str) -> tuple[Hold, ...]:
    """The digests held for ``agent``, oldest first."""
    return ctx.store.get_agent(_known(ctx, agent)).holds


def pause(ctx: Context, agent: str, *, by: str | None = None) -> AgentState:
    """Pause ``agent``: pushes are skipped (reason ``paused``) until :func:`resume`."""
    at = iso(ctx.clock.now())

    def change(state: AgentState) -> AgentState | None:
        return None if state.paused else replace(state, paused=True, paused_by=by, paused_at=at)

    return change_agent(ctx, _known(ctx, agent), change)


def resume(ctx: Context, agent: str) -> AgentState:
    """Resume ``agent``: pushes deploy again (those skipped while paused are not replayed)."""

    def change(state: AgentState) -> AgentState | None:
        return replace(state, paused=False, paused_by=None, paused_at=None) if state.paused else None

    return change_agent(ctx, _known(ctx, agent), change)


def hold_rolled_away(
    ctx: Context, agent: str, *, to_digest: str | None, by: str | None, deployment_id: str
) -> str:
    """A rollback starts: hold the digest of the agent's serving deployment (unless it is the
    digest rolled back to). What was held, in words, for the rollback's ``pending`` entry."""
    active = ctx.store.get_agent(agent).active_digest
    if active is None:
        return "nothing held: the serving deployment's digest is not known"
    if active == to_digest:
        return f"nothing held: {active} is the digest rolled back to"
    hold(ctx, agent, active, reason="rollback", by=by, deployment_id=deployment_id)
    return f"held {active}: pushes of it are skipped until the hold is released"


def _known(ctx: Context, agent: str) -> str:
    return ctx.config.configured(agent).name
