"""What an attempt's outcome means, and when to try again. Pure.

- 2xx: delivered. 410: the receiver is gone: ``dead`` at once (it can be redelivered later).
- Connection errors, timeouts, 3xx (redirects are not followed), 408, 429 and 5xx: retried.
- Other 4xx and refused addresses: permanent, ``dead``.

Retries follow the Standard Webhooks schedule, as offsets from the first attempt: at once, 5 s,
5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, each with jitter; ``Retry-After`` moves an
attempt later, never earlier. An entry that would be tried after the last offset is ``dead``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from deployer.domain.notifications import Attempt

Verdict = Literal["delivered", "retry", "dead"]
STANDARD_OFFSETS_S: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
MAX_RETRY_AFTER_S = 86_400.0


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What to do with an entry after an attempt."""

    verdict: Verdict
    due: float | None = None


PERMANENT_ERRORS = frozenset({"address_refused", "subscriber_removed"})


def classify(attempt: Attempt) -> Verdict:
    """``delivered``, ``retry`` or ``dead`` for one attempt's outcome."""
    status = attempt.status
    if status is None:
        return "dead" if attempt.error in PERMANENT_ERRORS else "retry"
    if 200 <= status < 300:
        return "delivered"
    if status in (408, 429) or status >= 500 or 300 <= status < 400:
        return "retry"
    return "dead"


@dataclass(frozen=True, kw_only=True)
class RetrySchedule:
    """When attempt *n* is due: ``first + offsets[n]``, jittered by up to ``jitter`` of the gap
    before it (``rand`` gives [0, 1)). Tests inject short offsets and a fixed ``rand``."""

    offsets_s: tuple[float, ...] = STANDARD_OFFSETS_S
    jitter: float = 0.2

    def decide(
        self, attempt: Attempt, *, attempts_made: int, first: float, now: float, rand: Callable[[], float]
    ) -> Decision:
        """The decision after the ``attempts_made``-th attempt (counting this one)."""
        verdict = classify(attempt)
        if verdict != "retry":
            return Decision(verdict=verdict)
        if attempts_made >= len(self.offsets_s):
            return Decision(verdict="dead")
        offset = self.offsets_s[attempts_made]
        gap = offset - self.offsets_s[attempts_made - 1] if attempts_made > 0 else offset
        due = first + offset + gap * self.jitter * (rand() * 2 - 1)
        if attempt.retry_after_s is not None:
            due = max(due, now + min(attempt.retry_after_s, MAX_RETRY_AFTER_S))
        if due > first + self.offsets_s[-1] * (1 + self.jitter):
            return Decision(verdict="dead")
        return Decision(verdict="retry", due=max(due, now))
