"""Calling user functions the way the Python worker does.

A plain function runs on the calling thread (the worker runs them on a thread pool); an ``async def``
function runs on one event loop shared by all invocations, in its own thread, as in the worker. An
exception is caught, its traceback logged to stderr, and reported as a failed :class:`Invocation`.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .log import log_exception

__all__ = ["Invocation", "Invoker"]


@dataclass(frozen=True)
class Invocation:
    """The result of one call: whether it succeeded, its return value and how long it took."""

    succeeded: bool
    value: Any
    duration_ms: float


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


class Invoker:
    """Runs user functions; owns the event loop thread for ``async def`` functions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def invoke(self, name: str, function: Callable[..., Any], kwargs: Mapping[str, Any]) -> Invocation:
        """Call ``function(**kwargs)``; never raises for an exception in the user's code."""
        started = time.perf_counter()
        try:
            value = self._call(function, kwargs)
        except Exception:
            log_exception(f"Executed 'Functions.{name}' failed:")
            return Invocation(False, None, _elapsed_ms(started))
        return Invocation(True, value, _elapsed_ms(started))

    def _call(self, function: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
        result = function(**kwargs)
        if inspect.isawaitable(result):
            future = asyncio.run_coroutine_threadsafe(_await(result), self._event_loop())
            return future.result()
        return result

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="devhost-asyncio", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def close(self) -> None:
        """Stop the event loop thread, if one was started."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not thread.is_alive():
            loop.close()


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
