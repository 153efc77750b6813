"""Sending a ``dead`` notification again, as a person asks (API, CLI): only a dead entry whose
subscriber is still configured; a fresh retry schedule, the same event id."""

from __future__ import annotations

import logging

from deployer.context import Context
from deployer.domain.errors import Conflict, Refused
from deployer.domain.notifications import NotificationEntry
from deployer.notify import outbox

log = logging.getLogger(__name__)


def redeliver(ctx: Context, entry_id: str, *, requested_by: str | None = None) -> NotificationEntry:
    """Queue a ``dead`` entry again (a fresh retry schedule, the same event id); refuse an
    unknown entry (404), one that is not dead (409) and one whose subscriber is gone (422)."""
    entry = ctx.store.get_notification(entry_id)
    if entry is None:
        raise Refused("not-found", f"no notification {entry_id}; list them at /api/notifications?state=dead")
    if entry.state != "dead":
        raise Refused(
            "notification-not-dead",
            f"notification {entry_id} is {entry.state}: only dead notifications are sent again",
            state=entry.state,
        )
    if ctx.config.subscriber(entry.subscriber) is None:
        raise Refused(
            "not-allowed-by-config",
            f"subscriber {entry.subscriber} of notification {entry_id} is no longer configured",
        )
    log.info("notification %s: redelivery requested by %s", entry_id, requested_by or "a function key")
    try:
        queued = outbox.redeliver(ctx, entry_id)
    except Conflict:  # changed since it was read: by a sender, or a redelivery at the same time
        return _after_race(ctx, entry_id)
    return queued


def _after_race(ctx: Context, entry_id: str) -> NotificationEntry:
    fresh = ctx.store.get_notification(entry_id)
    if fresh is not None and fresh.state == "pending":
        return fresh  # a redelivery at the same time won: queued, as asked
    state = fresh.state if fresh else "gone"
    raise Refused(
        "notification-not-dead",
        f"notification {entry_id} changed while being redelivered (now {state}): list it again",
        state=state,
    )
