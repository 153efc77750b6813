"""The request one attempt sends for one entry to one subscriber. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deployer.domain.notifications import NotificationEntry
from deployer.domain.subscribers import EventGridTopic, Webhook
from deployer.notify import cloudevents, signing, slack, teams


@dataclass(frozen=True, kw_only=True)
class WebhookRequest:
    """A POST to a webhook; ``url`` is secret for Slack and Teams, so it is never shown."""

    url: str
    body: bytes
    headers: Mapping[str, str]

    def __repr__(self) -> str:
        return f"WebhookRequest(headers={sorted(self.headers)}, body={len(self.body)} bytes)"


@dataclass(frozen=True, kw_only=True)
class TopicEvent:
    """A CloudEvent for an Event Grid topic."""

    endpoint: str
    event: Mapping[str, Any]


def render(
    entry: NotificationEntry, subscriber: Webhook | EventGridTopic, *, now: float, links_base: str | None
) -> WebhookRequest | TopicEvent:
    """What to send for ``entry``; a signed CloudEvent carries ``webhook-id`` = the event id and
    this attempt's ``webhook-timestamp``."""
    if isinstance(subscriber, EventGridTopic):
        return TopicEvent(endpoint=subscriber.endpoint, event=cloudevents.cloud_event(entry))
    headers = {"User-Agent": "agent-deployer-webhooks/1"}
    if subscriber.format == "slack":
        body, headers["Content-Type"] = slack.body(entry, links_base=links_base), slack.CONTENT_TYPE
    elif subscriber.format == "teams":
        body, headers["Content-Type"] = teams.body(entry, links_base=links_base), teams.CONTENT_TYPE
    else:
        body, headers["Content-Type"] = cloudevents.body(entry), cloudevents.CONTENT_TYPE
    if subscriber.secret:
        headers.update(signing.headers(subscriber.secret, entry.event_id, int(now), body))
    return WebhookRequest(url=subscriber.url, body=body, headers=headers)
