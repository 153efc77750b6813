"""The notification outbox as the API and the CLI show it: entries, paged, and redelivery.

An entry is shown with its subscriber described by key, format and host only: webhook URLs
(Slack and Teams carry their secret in the path), secrets and payloads never leave the store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from deployer.context import Context
from deployer.entrypoints.http import paging
from deployer.entrypoints.http.problems import ProblemError
from deployer.entrypoints.http.requests import NotificationsQuery, notifications_scope
from deployer.notify import outbox
from deployer.notify.entries import NotificationEntry
from deployer.notify.subscribers import EventGridTopic, Subscriber
from deployer.ports import Conflict

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class SubscriberView:
    """Who an entry is for, safe to show: the key, the format and the host (``None`` when the
    subscriber is no longer configured)."""

    key: str
    format: str
    host: str | None

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "format": self.format, "host": self.host}


@dataclass(frozen=True, kw_only=True)
class NotificationView:
    """An outbox entry and its subscriber, for ``GET /api/notifications``."""

    entry: NotificationEntry
    subscriber: SubscriberView

    def to_json(self) -> dict[str, Any]:
        """The entry document: no payload, URL or secret."""
        document = self.entry.to_json()
        del document["channel"]  # the subscriber's format says it
        return {**document, "subscriber": self.subscriber.to_json()}


@dataclass(frozen=True, kw_only=True)
class NotificationPage:
    """One page of entries, newest deployments first; ``next`` continues it."""

    items: Sequence[NotificationView]
    next: str | None

    def to_json(self) -> dict[str, Any]:
        return {"items": [item.to_json() for item in self.items], "next": self.next}


def page(ctx: Context, query: NotificationsQuery) -> NotificationPage:
    """The entries ``query`` asks for (one more is read to know whether a next page exists)."""
    paging.require_row(query.next, lambda after: ctx.store.get_notification(after) is not None)
    found = outbox.notifications(ctx, state=query.state, limit=query.limit + 1, after=query.next)
    items = found[: query.limit]
    more = len(found) > query.limit and items
    next_token = paging.token(items[-1].id, notifications_scope(query.state)) if more else None
    return NotificationPage(items=[view(ctx, entry) for entry in items], next=next_token)


def redeliver(ctx: Context, entry_id: str, *, requested_by: str | None = None) -> NotificationView:
    """Queue a ``dead`` entry again (a fresh retry schedule, the same event id); refuse an
    unknown entry (404), one that is not dead (409) and one whose subscriber is gone (422)."""
    entry = ctx.store.get_notification(entry_id)
    if entry is None:
        raise ProblemError(
            "not-found", f"no notification {entry_id}; list them at /api/notifications?state=dead"
        )
    if entry.state != "dead":
        raise ProblemError(
            "notification-not-dead",
            f"notification {entry_id} is {entry.state}: only dead notifications are sent again",
            state=entry.state,
        )
    if _subscriber(ctx, entry.subscriber) is None:
        raise ProblemError(
            "not-allowed-by-config",
            f"subscriber {entry.subscriber} of notification {entry_id} is no longer configured",
        )
    log.info("notification %s: redelivery requested by %s", entry_id, requested_by or "a function key")
    try:
        queued = outbox.redeliver(ctx, entry_id)
    except Conflict:  # changed since it was read: by a sender, or a redelivery at the same time
        return _after_race(ctx, entry_id)
    return view(ctx, queued)


def view(ctx: Context, entry: NotificationEntry) -> NotificationView:
    """``entry`` with its subscriber looked up in the configuration."""
    subscriber = _subscriber(ctx, entry.subscriber)
    host = _host(subscriber) if subscriber is not None else None
    return NotificationView(
        entry=entry, subscriber=SubscriberView(key=entry.subscriber, format=entry.channel, host=host)
    )


def _after_race(ctx: Context, entry_id: str) -> NotificationView:
    fresh = ctx.store.get_notification(entry_id)
    if fresh is not None and fresh.state == "pending":
        return view(ctx, fresh)  # a redelivery at the same time won: queued, as asked
    state = fresh.state if fresh else "gone"
    raise ProblemError(
        "notification-not-dead",
        f"notification {entry_id} changed while being redelivered (now {state}): list it again",
        state=state,
    )


def _subscriber(ctx: Context, key: str) -> Subscriber | None:
    return next((s for s in ctx.config.subscribers if s.key == key), None)


def _host(subscriber: Subscriber) -> str | None:
    url = subscriber.endpoint if isinstance(subscriber, EventGridTopic) else subscriber.origin
    parts = urlsplit(url)
    if parts.hostname is None:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return host + (f":{parts.port}" if parts.port else "")
