"""The notification outbox as the API and the CLI show it: entries, paged (redelivery is
:mod:`deployer.notify.redelivery`).

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
from deployer.domain.notifications import NotificationEntry
from deployer.domain.subscribers import EventGridTopic, Subscriber
from deployer.entrypoints.http import paging
from deployer.entrypoints.http.requests import NotificationsQuery, notifications_scope
from deployer.notify import outbox

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


def view(ctx: Context, entry: NotificationEntry) -> NotificationView:
    """``entry`` with its subscriber looked up in the configuration."""
    subscriber = ctx.config.subscriber(entry.subscriber)
    host = _host(subscriber) if subscriber is not None else None
    return NotificationView(
        entry=entry, subscriber=SubscriberView(key=entry.subscriber, format=entry.channel, host=host)
    )


def _host(subscriber: Subscriber) -> str | None:
    url = subscriber.endpoint if isinstance(subscriber, EventGridTopic) else subscriber.origin
    parts = urlsplit(url)
    if parts.hostname is None:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return host + (f":{parts.port}" if parts.port else "")
