"""The ``webhooks`` and ``event_grid_topic`` sections of ``deployer.yaml``, validated into
:mod:`deployer.domain.subscribers` values. Addresses are checked here (literal IPs and names that
resolve to refused addresses) and again at send time, when the name may resolve differently.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deployer.domain.addresses import Resolver, UrlRefused, checked_addresses, literal_address, parse_target
from deployer.domain.subscribers import (
    FORMATS,
    NOTIFIED_TYPES,
    SECRET_PREFIX,
    EventGridTopic,
    Filters,
    Webhook,
)

_WEBHOOK_KEYS = frozenset({"url", "secret", "events", "agents", "format"})
_TOPIC_KEYS = frozenset({"endpoint", "events", "agents"})


@dataclass(frozen=True, kw_only=True)
class SubscriberRules:
    """What subscribers are checked against: the configured agents and the address rules."""

    agents: frozenset[str]
    allow_loopback: bool
    resolver: Resolver


def parse_webhooks(raw: object, rules: SubscriberRules, problems: list[str]) -> tuple[Webhook, ...]:
    """Validate the ``webhooks`` list, appending each problem (field and rule) to ``problems``."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append("webhooks: must be a list of mappings with url, secret, events, agents, format")
        return ()
    found = [_webhook(item, f"webhooks[{i}]", rules, problems) for i, item in enumerate(raw)]
    hooks = tuple(h for h in found if h is not None)
    keys = [h.key for h in hooks]
    problems += [
        f"webhooks: {h.origin} is configured twice with format {h.format}"
        for i, h in enumerate(hooks)
        if h.key in keys[:i]
    ]
    return hooks


def parse_topic(raw: object, rules: SubscriberRules, problems: list[str]) -> EventGridTopic | None:
    """Validate the optional ``event_grid_topic`` mapping."""
    if raw is None:
        return None
    at = "event_grid_topic"
    if not isinstance(raw, Mapping):
        problems.append(f"{at}: must be a mapping with endpoint")
        return None
    before = len(problems)
    problems += [f"{at}.{key}: unknown field" for key in raw if key not in _TOPIC_KEYS]
    endpoint = raw.get("endpoint")
    origin = _url(endpoint, f"{at}.endpoint", rules, problems)
    filters = _filters(raw, at, rules.agents, problems)
    if len(problems) > before or origin is None:
        return None
    assert isinstance(endpoint, str)
    return EventGridTopic(endpoint=endpoint, filters=filters)


def _webhook(raw: object, at: str, rules: SubscriberRules, problems: list[str]) -> Webhook | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{at}: must be a mapping with url, secret, events, agents, format")
        return None
    before = len(problems)
    problems += [f"{at}.{key}: unknown field" for key in raw if key not in _WEBHOOK_KEYS]
    url = raw.get("url")
    origin = _url(url, f"{at}.url", rules, problems)
    fmt = raw.get("format", "cloudevents")
    if fmt not in FORMATS:
        problems.append(f"{at}.format: must be one of {', '.join(FORMATS)}")
    secret = _secret(raw.get("secret"), fmt, at, problems)
    filters = _filters(raw, at, rules.agents, problems)
    if len(problems) > before or origin is None:
        return None
    assert isinstance(url, str)
    return Webhook(url=url, secret=secret, format=fmt, filters=filters, origin=origin)


def _url(raw: object, at: str, rules: SubscriberRules, problems: list[str]) -> str | None:
    if not isinstance(raw, str) or not raw:
        problems.append(f"{at}: must be an https:// URL")
        return None
    try:
        target = parse_target(raw, allow_loopback=rules.allow_loopback)
        literal = literal_address(target.host)
        addresses = [literal] if literal else _resolve(rules.resolver, target.host)
        if addresses:  # a name that does not resolve now is checked again when sending
            checked_addresses(target, addresses, allow_loopback=rules.allow_loopback)
    except UrlRefused as exc:
        problems.append(f"{at}: {exc}")
        return None
    return target.origin


def _resolve(resolver: Resolver, host: str) -> list[str]:
    try:
        return list(resolver(host))
    except OSError:
        return []


def _secret(raw: object, fmt: object, at: str, problems: list[str]) -> str | None:
    if fmt != "cloudevents":
        if raw is not None:
            problems.append(f"{at}.secret: {fmt} webhooks are not signed (the URL is the secret); remove it")
        return None
    if not isinstance(raw, str) or not raw.startswith(SECRET_PREFIX):
        problems.append(f"{at}.secret: must be a whsec_ secret, e.g. ${{WEBHOOK_SECRET}} from an app setting")
        return None
    try:
        size = len(base64.b64decode(raw.removeprefix(SECRET_PREFIX), validate=True))
    except (binascii.Error, ValueError):
        size = 0
    if not 24 <= size <= 64:
        problems.append(f"{at}.secret: must be whsec_ followed by base64 of 24 to 64 random bytes")
        return None
    return raw


def _filters(raw: Mapping[str, Any], at: str, agents: frozenset[str], problems: list[str]) -> Filters:
    events = _names(raw.get("events"), f"{at}.events", problems)
    for name in sorted((events or frozenset()) - NOTIFIED_TYPES):
        problems.append(
            f"{at}.events: {name!r} is not an event type (known: {', '.join(sorted(NOTIFIED_TYPES))})"
        )
    wanted = _names(raw.get("agents"), f"{at}.agents", problems)
    for name in sorted((wanted or frozenset()) - agents):
        problems.append(f"{at}.agents: {name!r} is not a configured agent")
    return Filters(events=events, agents=wanted)


def _names(raw: object, at: str, problems: list[str]) -> frozenset[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
        problems.append(f"{at}: must be a non-empty list of names (leave it out for all)")
        return None
    return frozenset(raw)
