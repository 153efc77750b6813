"""The ``webhooks`` and ``event_grid_topic`` sections of ``deployer.yaml`` as pydantic models, and
the domain values they become. Addresses are checked here (literal IPs and names that resolve to
refused addresses) with the resolver in the validation context, and again at send time."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator

from deployer.config import checks, receiver_checks
from deployer.config.document import FILTER_SCHEMA, Events, Model, _choice, _schema
from deployer.domain import subscribers
from deployer.domain.addresses import parse_target, system_resolve


def _configured(value: frozenset[str] | None, info: ValidationInfo) -> frozenset[str] | None:
    """The agents a subscriber's filter names must be configured (``agents`` in the context)."""
    known = set((info.context or {}).get("agents", ()))
    found = [
        ("", f"{name!r} is not a configured agent{checks.did_you_mean(name, known)}")
        for name in sorted((value or frozenset()) - known)
    ]
    if found:
        raise checks.Problem(*found)
    return value


def _checked_url(value: object, info: ValidationInfo) -> str:
    context = info.context or {}
    receiver_checks.url(
        value, context.get("resolver", system_resolve), allow_loopback=context.get("allow_loopback", False)
    )
    assert isinstance(value, str)
    return value


Url = Annotated[Any, BeforeValidator(_checked_url), _schema({"type": "string", "format": "uri"})]
#: The agents a subscriber hears about (all when left out): configured ones.
Agents = Annotated[
    Any, BeforeValidator(receiver_checks.agent_names), AfterValidator(_configured), _schema(FILTER_SCHEMA)
]


class Webhook(Model):
    """An HTTPS receiver of notifications, in one of the formats."""

    REQUIRED = ("url",)
    url: Url = Field(default=None, validate_default=True)
    format: Annotated[
        Any,
        BeforeValidator(
            _choice(*subscribers.FORMATS, message=f"must be one of {', '.join(subscribers.FORMATS)}")
        ),
        _schema({"enum": list(subscribers.FORMATS)}),
    ] = "cloudevents"
    secret: Annotated[
        Any, _schema({"type": "string"}, "cloudevents only: whsec_ and base64 of 24 to 64 bytes")
    ] = Field(default=None, validate_default=True)
    events: Events = None
    agents: Agents = None

    @field_validator("secret", mode="before")
    @classmethod
    def _secret(cls, value: object, info: ValidationInfo) -> str | None:
        if "format" not in info.data:  # an unknown format is refused on its own
            return None
        return receiver_checks.secret(value, info.data["format"])

    @property
    def origin(self) -> str:
        return parse_target(self.url, allow_loopback=True).origin

    def value(self) -> subscribers.Webhook:
        return subscribers.Webhook(
            url=self.url,
            secret=self.secret,
            format=self.format,
            filters=subscribers.Filters(events=self.events, agents=self.agents),
            origin=self.origin,
        )


class Topic(Model):
    """An Event Grid custom topic that gets every notified event as a CloudEvent."""

    REQUIRED = ("endpoint",)
    endpoint: Url = Field(default=None, validate_default=True)
    events: Events = None
    agents: Agents = None

    def value(self) -> subscribers.EventGridTopic:
        filters = subscribers.Filters(events=self.events, agents=self.agents)
        return subscribers.EventGridTopic(endpoint=self.endpoint, filters=filters)
