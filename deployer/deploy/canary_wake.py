"""Waking a canary a person changed (promoted it, decided the approval a step waits for) so the
poll's own step acts on the change at once, without ever running beside a tick that holds it.

The canary's open-work entry is read and written conditionally on its ETag, like every other
state change. An entry that waits for what the record names (the next step, or the expiry of the
approval the step waits for), or that is due, is taken as a tick takes it, and the step is taken
now. An entry due at any other time is held by a tick (its lease): it is left to that tick, and
written again unchanged, so that the tick's next write of it, made from the record as the tick
read it before the change, fails instead of putting the change off to the next step: the change
is acted on when the lease ends, by one tick.
"""

from __future__ import annotations

from contextlib import suppress

from deployer.context import Context, retry_on_conflict
from deployer.deploy import poll
from deployer.domain.errors import Conflict
from deployer.domain.model import Deployment
from deployer.domain.platform import Scheduled


def wake(ctx: Context, deployment_id: str) -> None:
    """Act on a change to ``deployment_id``'s canary now, or leave it to the tick that holds it."""

    def attempt() -> None:
        d = ctx.store.get(deployment_id)
        if d is None or d.status != "canary":
            return  # finished meanwhile
        entry = ctx.store.scheduled(deployment_id)
        now = ctx.clock.now()
        if entry is None:  # a canary always has one; should it not, the next tick looks
            ctx.store.schedule_by(Scheduled(deployment_id=deployment_id, due=now))
        elif held(entry, d, now):
            ctx.store.schedule(entry)
        else:
            poll.track(ctx, entry)  # takes the entry conditionally: a tick first acts instead

    with suppress(Conflict):  # lost races all along: the ticks that won act on the record
        retry_on_conflict(attempt, gave_up=f"deployment {deployment_id}: not woken")


def held(entry: Scheduled, d: Deployment, now: float) -> bool:
    """Whether a tick holds the canary's entry: due later than ``now`` at a time the record does
    not name (its next step, or the expiry of the approval its next step waits for)."""
    assert d.canary is not None
    if entry.due <= now:
        return False
    named = {d.canary.next_at}
    if d.approval is not None and d.approval.step is not None:
        named.add(d.approval.expires_at)
    return entry.due not in named
