"""``GET /api/health``: can the deployer reach Table Storage and each Foundry project endpoint?
And may it send to each notification subscriber (where its host resolves now)?

Each check is one cheap call with a short timeout and no retries, run side by side, so the
answer comes within about one timeout however many endpoints there are. Failures are reported
by kind only: exception messages can carry URLs with keys or tokens (a subscriber's by its
origin and the address rule it breaks). An endpoint that answers that its project does not exist
is ``not_found``, with what to correct. A subscriber is not required: one that is refused makes
the answer ``degraded`` (still 200), since it fails only its own notifications.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from deployer.context import Context
from deployer.domain.addresses import Resolver, UrlRefused, resolve_checked
from deployer.domain.errors import PlatformError, StoreUnavailable
from deployer.domain.hints import HINTS, PROJECT_NOT_FOUND
from deployer.domain.subscribers import EventGridTopic

CHECK_TIMEOUT_S = 3.0


@dataclass(frozen=True, kw_only=True)
class Check:
    """One dependency and whether it answered."""

    name: str
    target: str
    ok: bool
    duration_ms: int
    error: str | None = None
    #: The target answered, but what it names does not exist (a wrong project).
    not_found: bool = False
    hint: str | None = None
    #: A failing check that is not required (a subscriber) leaves the deployer available.
    required: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "status": "ok" if self.ok else "not_found" if self.not_found else "unreachable",
            "duration_ms": self.duration_ms,
            "error": self.error,
            "hint": self.hint,
        }


@dataclass(frozen=True, kw_only=True)
class Health:
    """Every check; healthy only if all passed."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks if check.required)

    def to_json(self) -> dict[str, Any]:
        every = all(check.ok for check in self.checks)
        status = "ok" if every else "degraded" if self.ok else "unavailable"
        return {"status": status, "checks": [c.to_json() for c in self.checks]}


@dataclass(frozen=True, kw_only=True)
class SubscriberRules:
    """How subscribers' hosts are resolved and judged, as the notification sender does."""

    resolver: Resolver
    allow_loopback: bool


def check_health(
    ctx: Context,
    *,
    table: str,
    timeout_s: float = CHECK_TIMEOUT_S,
    subscribers: SubscriberRules | None = None,
) -> Health:
    """Ping Table Storage (``table`` names it in the answer) and every project endpoint in use;
    with ``subscribers``, check where each subscriber's host resolves now."""
    probes: list[tuple[str, str, Callable[[], None]]] = [
        ("table_storage", table, lambda: ctx.store.ping(timeout_s))
    ]
    for endpoint in endpoints(ctx):
        probes.append(("foundry", endpoint, _foundry_probe(ctx, endpoint, timeout_s)))
    required = len(probes)
    if subscribers is not None:
        probes += _subscriber_probes(ctx, subscribers)
    with ThreadPoolExecutor(max_workers=len(probes)) as pool:
        checks = tuple(pool.map(lambda probe: _run(*probe), probes))
    return Health(checks=checks[:required] + tuple(replace(c, required=False) for c in checks[required:]))


def _subscriber_probes(ctx: Context, rules: SubscriberRules) -> list[tuple[str, str, Callable[[], None]]]:
    probes = []
    for subscriber in ctx.config.subscribers:
        if isinstance(subscriber, EventGridTopic):
            name, url, origin = "event_grid_topic", subscriber.endpoint, subscriber.endpoint
        else:
            name, url, origin = "webhook", subscriber.url, subscriber.origin
        probes.append((name, origin, _address_probe(url, rules)))
    return probes


def _address_probe(url: str, rules: SubscriberRules) -> Callable[[], None]:
    def probe() -> None:
        resolve_checked(url, rules.resolver, allow_loopback=rules.allow_loopback)

    return probe


def unavailable(stage: str, exc: BaseException) -> Health:
    """The answer when the deployer could not even be set up (settings, configuration, storage)."""
    return Health(checks=(Check(name=stage, target="", ok=False, duration_ms=0, error=type(exc).__name__),))


def endpoints(ctx: Context) -> list[str]:
    """The distinct project endpoints the configured agents deploy to."""
    found = {agent.project_endpoint or ctx.default_endpoint for agent in ctx.config.agents}
    return sorted(e for e in found if e)


def _foundry_probe(ctx: Context, endpoint: str, timeout_s: float) -> Callable[[], None]:
    return lambda: ctx.platform.ping(endpoint, timeout_s)


def _run(name: str, target: str, probe: Callable[[], None]) -> Check:
    started = time.monotonic()
    error: str | None = None
    missing = False
    try:
        probe()
    except PlatformError as exc:
        error = f"{exc.code} (HTTP {exc.status_code})" if exc.status_code else exc.code
        missing = exc.code == PROJECT_NOT_FOUND
    except StoreUnavailable as exc:
        error = exc.code
    except UrlRefused as exc:  # names the origin and the rule, never the URL
        error = f"address_refused: {exc}"
    except Exception as exc:  # any failure means unreachable; its kind is the answer
        error = type(exc).__name__
    took = int((time.monotonic() - started) * 1000)
    hint = HINTS[PROJECT_NOT_FOUND] if missing else None
    return Check(
        name=name,
        target=target,
        ok=error is None,
        duration_ms=took,
        error=error,
        not_found=missing,
        hint=hint,
    )
