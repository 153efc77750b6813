"""Timer triggers: one thread per timer firing on its NCRONTAB schedule, in UTC.

As in the Functions host, a timer does not fire again while its invocation runs: occurrences missed
meanwhile are skipped and the next one is computed from the time the invocation ended. ``runOnStartup``
fires once when the timers start. The function gets the ``func.TimerRequest`` that
``TimerRequestConverter.decode`` builds from the host's payload (``IsPastDue``, ``ScheduleStatus``).
``past_due`` is true only when the thread woke so late that a further occurrence had also passed.

Not reproduced: the schedule monitor (last/next occurrence kept in storage across restarts) and the
singleton lock across instances; ``WEBSITE_TIME_ZONE`` is ignored (schedules are UTC).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from azure.functions.meta import Datum
from azure.functions.timer import TimerRequestConverter

from .index import TimerFunction
from .invoker import Invoker
from .log import log, log_invocation

__all__ = ["TimerRunner", "build_timer_request"]

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def build_timer_request(past_due: bool, last: datetime | None, upcoming: datetime | None) -> Any:
    """The ``func.TimerRequest`` the worker would build from the host's timer payload."""
    status = {
        "Last": (last or datetime.min.replace(tzinfo=UTC)).isoformat(),
        "Next": upcoming.isoformat() if upcoming else None,
        "LastUpdated": _utc_now().isoformat(),
    }
    payload = {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": status, "IsPastDue": past_due}
    return TimerRequestConverter.decode(Datum(json.dumps(payload), "json"), trigger_metadata=None)


class _TimerState:
    def __init__(self, timer: TimerFunction) -> None:
        self.timer = timer
        self.busy = threading.Lock()
        self.last: datetime | None = None


class TimerRunner:
    """Runs the app's timers; ``fire`` runs one by hand (also with the threads not started)."""

    def __init__(self, timers: Mapping[str, TimerFunction], invoker: Invoker, clock: Clock = _utc_now):
        self._states = {name: _TimerState(timer) for name, timer in timers.items()}
        self._invoker = invoker
        self._clock = clock
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start one daemon thread per timer."""
        for name, state in self._states.items():
            thread = threading.Thread(
                target=self._run, args=(state,), name=f"devhost-timer-{name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads, waiting up to ``timeout`` seconds for running invocations."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def fire(self, name: str, *, past_due: bool = False) -> bool:
        """Invoke timer ``name`` now, after any running invocation of it; True if it succeeded."""
        state = self._states[name]
        with state.busy:
            return self._invoke(state, past_due)

    def _invoke(self, state: _TimerState, past_due: bool) -> bool:
        timer = state.timer
        now = self._clock()
        request = build_timer_request(past_due, state.last, timer.schedule.next_after(now))
        invocation = self._invoker.invoke(timer.name, timer.func, timer.arguments(request))
        state.last = now
        log_invocation(timer.name, "Succeeded" if invocation.succeeded else "Failed", invocation.duration_ms)
        return invocation.succeeded

    def _run(self, state: _TimerState) -> None:
        if state.timer.run_on_startup:
            self._fire_if_idle(state, past_due=False)
        while not self._stopping.is_set():
            due = state.timer.schedule.next_after(self._clock())
            if not self._sleep_until(due):
                return
            past_due = state.timer.schedule.next_after(due) <= self._clock()
            self._fire_if_idle(state, past_due)

    def _sleep_until(self, due: datetime) -> bool:
        """Wait until ``due``; False if the runner is stopping."""
        while (remaining := (due - self._clock()).total_seconds()) > 0:
            if self._stopping.wait(remaining):
                return False
        return not self._stopping.is_set()

    def _fire_if_idle(self, state: _TimerState, past_due: bool) -> None:
        if not state.busy.acquire(blocking=False):
            log(f"timer {state.timer.name!r}: skipped an occurrence, an invocation is still running")
            return
        try:
            self._invoke(state, past_due)
        finally:
            state.busy.release()
