"""Time: the system clock and the timestamp format of records."""

from __future__ import annotations

import time
from datetime import datetime, timezone


class SystemClock:
    """:class:`deployer.ports.Clock` on the system time."""

    def now(self) -> float:
        return time.time()


def iso(epoch: float) -> str:
    """``2026-11-25T06:34:44.123Z``: the timestamp format of every record."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
