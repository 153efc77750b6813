"""An agent's holds and pause as the API and the CLI show and change them
(:mod:`deployer.holds` keeps them on the agent's row).

A hold keeps pushes of a digest from deploying (a rollback moved away from it); a pause keeps
every push from deploying. Each change is idempotent: releasing a digest that is not held,
pausing a paused agent or resuming a running one changes nothing and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from deployer.context import Context
from deployer.domain.model import AgentState
from deployer.domain.rollout_state import Hold
from deployer.entrypoints.http.hold_requests import HoldRef
from deployer.entrypoints.http.problems import ProblemError
from deployer.rollout import holds

log = logging.getLogger(__name__)
T = TypeVar("T")


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
    held = _refused_as_problems(lambda: holds.holds_of(ctx, _configured(ctx, agent)))
    return HoldList(holds=held, paused=ctx.store.get_agent(agent).paused)


def release(ctx: Context, ref: HoldRef, *, requested_by: str | None) -> bool:
    """Release the hold on ``ref.digest``: pushes of it deploy again. ``False`` if it was not
    held."""
    released = _refused_as_problems(lambda: holds.release(ctx, _configured(ctx, ref.agent), ref.digest))
    if released:
        log.info("agent %s: hold on %s released by %s", ref.agent, ref.digest, requested_by or "a key holder")
    return released


def pause(ctx: Context, agent: str, *, by: str | None) -> PauseState:
    """Pause the agent: pushes are recorded ``skipped`` (``paused``) until it is resumed."""
    return PauseState(state=_refused_as_problems(lambda: holds.pause(ctx, _configured(ctx, agent), by=by)))


def resume(ctx: Context, agent: str) -> PauseState:
    """Resume the agent: pushes deploy again (those skipped meanwhile are not replayed)."""
    return PauseState(state=_refused_as_problems(lambda: holds.resume(ctx, _configured(ctx, agent))))


def _configured(ctx: Context, agent: str) -> str:
    if ctx.config.agent(agent) is None:
        configured = ", ".join(a.name for a in ctx.config.agents)
        raise ProblemError("unknown-agent", f"no agent {agent!r} is configured (configured: {configured})")
    return agent


def _refused_as_problems(call: Callable[[], T]) -> T:
    """``deployer.holds`` refuses an unknown agent (``LookupError``) and a malformed digest
    (``ValueError``); the API answers them as 404 and 400."""
    try:
        return call()
    except ValueError as exc:
        raise ProblemError("invalid-query", str(exc)) from None
    except LookupError as exc:
        raise ProblemError("unknown-agent", str(exc)) from None
