"""Who is notified, of what: the subscribers of ``deployer.yaml`` (webhooks and an Event Grid topic)
and the event types they can ask for.

Each subscriber has a stable ``key`` (a hash of its format and URL, not the URL: Slack and Teams
URLs are secrets) that names it in outbox entries. ``repr`` shows the origin only, never the
path or the secret. Event types are ``deployment.`` + the status entered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal, get_args

from deployer.domain.model import Status

#: Statuses no one is notified of: ``pending`` (internal), ``ignored`` and ``refused`` (events that
#: were never deployments) and ``canary`` (its steps are notified, as ``traffic_shifted``).
UNNOTIFIED: frozenset[str] = frozenset({"pending", "ignored", "refused", "canary"})
#: Moments of a deployment that are notified without changing its status.
MARKS: frozenset[str] = frozenset({"traffic_shifted", "promoted"})
NOTIFIED_STATUSES: tuple[str, ...] = (*(s for s in get_args(Status) if s not in UNNOTIFIED), *sorted(MARKS))
NOTIFIED_TYPES: frozenset[str] = frozenset(f"deployment.{s}" for s in NOTIFIED_STATUSES)

Format = Literal["cloudevents", "slack", "teams"]
FORMATS: tuple[str, ...] = ("cloudevents", "slack", "teams")
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of Standard Webhooks secrets, not a secret


@dataclass(frozen=True, kw_only=True)
class Filters:
    """Which events a subscriber wants: None means all."""

    events: frozenset[str] | None = None
    agents: frozenset[str] | None = None

    def wants(self, event_type: str, agent: str) -> bool:
        return (self.events is None or event_type in self.events) and (
            self.agents is None or agent in self.agents
        )


@dataclass(frozen=True, kw_only=True)
class Webhook:
    """An HTTPS receiver of notifications, in one of the formats."""

    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    format: Format = "cloudevents"
    filters: Filters = field(default_factory=Filters)
    origin: str = ""

    @property
    def key(self) -> str:
        return "w" + hashlib.sha256(f"{self.format}\n{self.url}".encode()).hexdigest()[:20]

    @property
    def channel(self) -> str:
        return self.format


@dataclass(frozen=True, kw_only=True)
class EventGridTopic:
    """An Event Grid custom topic that gets every notified event as a CloudEvent."""

    endpoint: str
    filters: Filters = field(default_factory=Filters)

    @property
    def key(self) -> str:
        return "t" + hashlib.sha256(self.endpoint.encode()).hexdigest()[:20]

    @property
    def channel(self) -> str:
        return "eventgrid"


Subscriber = Webhook | EventGridTopic
