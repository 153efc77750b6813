"""The dev host's own log lines, on stderr (stdout carries only the ``READY`` line)."""

from __future__ import annotations

import sys
import threading
import traceback

__all__ = ["log", "log_exception", "log_invocation"]

_lock = threading.Lock()


def log(message: str) -> None:
    """Write one ``[devhost]`` line to the current ``sys.stderr``."""
    with _lock:
        sys.stderr.write(f"[devhost] {message}\n")
        sys.stderr.flush()


def log_exception(context: str) -> None:
    """Log ``context`` and the traceback of the exception being handled."""
    with _lock:
        sys.stderr.write(f"[devhost] {context}\n{traceback.format_exc()}")
        sys.stderr.flush()


def log_invocation(name: str, outcome: str, duration_ms: float) -> None:
    """One line per invocation, shaped like the Functions host's ``Executed ...`` line."""
    log(f"Executed 'Functions.{name}' ({outcome}, Duration={duration_ms:.0f}ms)")
