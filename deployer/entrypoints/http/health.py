"""``GET /api/health``: can the deployer reach Table Storage and each Foundry project endpoint?

Each check is one cheap call with a short timeout and no retries, run side by side, so the
answer comes within about one timeout however many endpoints there are. Failures are reported
by kind only: exception messages can carry URLs with keys or tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from deployer.context import Context
from deployer.domain.errors import PlatformError

CHECK_TIMEOUT_S = 3.0


@dataclass(frozen=True, kw_only=True)
class Check:
    """One dependency and whether it answered."""

    name: str
    target: str
    ok: bool
    duration_ms: int
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "status": "ok" if self.ok else "unreachable",
            "duration_ms": self.duration_ms,
            "error": self.error,
        }


@dataclass(frozen=True, kw_only=True)
class Health:
    """Every check; healthy only if all passed."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "unavailable", "checks": [c.to_json() for c in self.checks]}


def check_health(ctx: Context, *, table: str, timeout_s: float = CHECK_TIMEOUT_S) -> Health:
    """Ping Table Storage (``table`` names it in the answer) and every project endpoint in use."""
    probes: list[tuple[str, str, Callable[[], None]]] = [
        ("table_storage", table, lambda: ctx.store.ping(timeout_s))
    ]
    for endpoint in endpoints(ctx):
        probes.append(("foundry", endpoint, _foundry_probe(ctx, endpoint, timeout_s)))
    with ThreadPoolExecutor(max_workers=len(probes)) as pool:
        checks = tuple(pool.map(lambda probe: _run(*probe), probes))
    return Health(checks=checks)


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
    try:
        probe()
    except PlatformError as exc:
        error = f"{exc.code} (HTTP {exc.status_code})" if exc.status_code else exc.code
    except Exception as exc:  # any failure means unreachable; its kind is the answer
        error = type(exc).__name__
    took = int((time.monotonic() - started) * 1000)
    return Check(name=name, target=target, ok=error is None, duration_ms=took, error=error)
