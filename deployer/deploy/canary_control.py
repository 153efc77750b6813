"""A person's hand on a canary (API, CLI): :func:`promote` skips the remaining steps,
:func:`abort` rolls it back to the stable version at once and holds its digest.

Both record the request with a conditional update of the deployment (retried on a lost race)
and then let the poll's own step act on it, so a request racing a poll tick never applies a
step twice; repeating a request changes nothing more.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace

from deployer.context import Context, retry_on_conflict
from deployer.deploy import canary_wake, poll
from deployer.domain.errors import Conflict, Refused
from deployer.domain.model import Deployment
from deployer.rollout import canary

_BUSY = "deployment {} is being changed by too many requests at once; retry"


class NotInCanary(Refused):
    """The deployment is not in a canary (any more): nothing to promote or abort."""

    def __init__(self, detail: str) -> None:
        super().__init__("not-in-canary", detail)


def promote(ctx: Context, deployment_id: str, *, by: str | None = None) -> Deployment:
    """Skip the remaining steps of ``deployment_id``'s canary: all traffic to its version, then
    ``verified``. :class:`Refused` (``not-found``) if there is no such deployment,
    :class:`NotInCanary` if it is not in a canary."""

    def attempt() -> None:
        d = _canary_of(ctx, deployment_id)
        assert d.canary is not None
        if not d.canary.promote:
            ctx.store.update(replace(d, canary=replace(d.canary, promote=True, promoted_by=by)))

    with suppress(Conflict):  # the poll's own step below acts on what the record says
        retry_on_conflict(attempt, gave_up=_BUSY.format(deployment_id))
    canary_wake.wake(ctx, deployment_id)  # or a tick holding the canary does, when its lease ends
    found = ctx.store.get(deployment_id)
    assert found is not None
    return found


def abort(ctx: Context, deployment_id: str, *, by: str | None = None) -> Deployment:
    """Roll ``deployment_id``'s canary back: all traffic to the stable version in one update,
    ``rolled_back``, its digest held. Errors as :func:`promote`."""

    def attempt() -> Deployment:
        d = _canary_of(ctx, deployment_id)
        agent = ctx.config.agent(d.agent) or poll.unconfigured(d)
        return canary.abort_deployment(ctx, agent, d, reason="aborted", hold=True, by=by)

    return retry_on_conflict(attempt, gave_up=_BUSY.format(deployment_id))


def _canary_of(ctx: Context, deployment_id: str) -> Deployment:
    d = ctx.store.get(deployment_id)
    if d is None:
        raise Refused("not-found", f"no deployment {deployment_id}; list them at /api/deployments")
    if d.status != "canary" or d.canary is None:
        raise NotInCanary(f"deployment {deployment_id} is {d.status}, not in a canary")
    return d
