"""The checks of a notification receiver's values in ``deployer.yaml`` (``webhooks``,
``event_grid_topic``): its URL (https, no refused address), its signing secret, and the event
types and agents it filters on. Like :mod:`deployer.config.checks`, each returns the value to
keep or raises :class:`~deployer.config.checks.Problem`."""

from __future__ import annotations

import base64
import binascii

from deployer.config.checks import Problem, fail
from deployer.domain.addresses import Resolver, UrlRefused, checked_addresses, literal_address, parse_target
from deployer.domain.subscribers import NOTIFIED_TYPES, SECRET_PREFIX


def event_names(value: object) -> frozenset[str]:
    names = _filter_names(value)
    found = [
        ("", f"{name!r} is not an event type (known: {', '.join(sorted(NOTIFIED_TYPES))})")
        for name in sorted(names - NOTIFIED_TYPES)
    ]
    if found:
        raise Problem(*found)
    return names


def _filter_names(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise fail("must be a non-empty list of names (leave it out for all)")
    return frozenset(value)


agent_names = _filter_names


def url(value: object, resolver: Resolver, *, allow_loopback: bool) -> str:
    """A receiver's URL (its origin is returned): https, and no address that is refused. A name that
    does not resolve now is checked again when sending."""
    if not isinstance(value, str) or not value:
        raise fail("must be an https:// URL")
    try:
        target = parse_target(value, allow_loopback=allow_loopback)
        literal = literal_address(target.host)
        addresses = [literal] if literal else _resolve(resolver, target.host)
        if addresses:
            checked_addresses(target, addresses, allow_loopback=allow_loopback)
    except UrlRefused as exc:
        raise fail(str(exc)) from None
    return target.origin


def _resolve(resolver: Resolver, host: str) -> list[str]:
    try:
        return list(resolver(host))
    except OSError:
        return []


def secret(value: object, fmt: object) -> str | None:
    """A webhook's signing secret: ``whsec_`` and base64 of 24 to 64 bytes, for cloudevents only."""
    if fmt != "cloudevents":
        if value is not None:
            raise fail(f"{fmt} webhooks are not signed (the URL is the secret); remove it")
        return None
    if not isinstance(value, str) or not value.startswith(SECRET_PREFIX):
        raise fail("must be a whsec_ secret, e.g. ${WEBHOOK_SECRET} from an app setting")
    try:
        size = len(base64.b64decode(value.removeprefix(SECRET_PREFIX), validate=True))
    except (binascii.Error, ValueError):
        size = 0
    if not 24 <= size <= 64:
        raise fail("must be whsec_ followed by base64 of 24 to 64 random bytes")
    return value
