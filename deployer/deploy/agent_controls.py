"""An agent's holds and pause as the API and the CLI show and change them
(:mod:`deployer.rollout.holds` keeps them on the agent's row).

A hold keeps pushes of a digest from deploying (a rollback moved away from it); a pause keeps
every push from deploying. Each change is idempotent: releasing a digest that is not held,
pausing a paused agent or resuming a running one changes nothing and says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from deployer.context import Context
from deployer.domain.model import AgentState
from deployer.domain.rollout_state import Hold
from deployer.rollout import holds

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class HoldList:
    """``GET /api/agents/{agent}/holds``: the held digests, oldest first, and whether the agent
    is paused."""

    holds: tuple[Hold, ...]
    paused: bool

    def to_json(self) -> dict[str, Any]:
        """``{"items": [hold, ...], "paused": bool}``."""
        return {"items": [hold.to_json() for hold in self.holds], "paused": self.paused}


@dataclass(frozen=True, kw_only=True)
class PauseState:
    """Whether an agent is paused, since when and by whom (after a pause or resume)."""

    state: AgentState

    def to_json(self) -> dict[str, Any]:
        """``{"agent", "paused", "paused_by", "paused_at"}``."""
        s = self.state
        return {"agent": s.name, "paused": s.paused, "paused_by": s.paused_by, "paused_at": s.paused_at}


def holds_of(ctx: Context, agent: str) -> HoldList:
    """The agent's held digests and its pause; 404 for an agent that is not configured."""
    held = holds.holds_of(ctx, agent)
    return HoldList(holds=held, paused=ctx.store.get_agent(agent).paused)


def release(ctx: Context, agent: str, digest: str, *, requested_by: str | None) -> bool:
    """Release the hold on ``digest``: pushes of it deploy again. ``False`` if it was not held."""
    released = holds.release(ctx, agent, digest)
    if released:
        log.info("agent %s: hold on %s released by %s", agent, digest, requested_by or "a key holder")
    return released


def pause(ctx: Context, agent: str, *, by: str | None) -> PauseState:
    """Pause the agent: pushes are recorded ``skipped`` (``paused``) until it is resumed."""
    return PauseState(state=holds.pause(ctx, agent, by=by))


def resume(ctx: Context, agent: str) -> PauseState:
    """Resume the agent: pushes deploy again (those skipped meanwhile are not replayed)."""
    return PauseState(state=holds.resume(ctx, agent))
