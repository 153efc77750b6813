"""What a stream can show: a line rewritten in place (a terminal that is not ``TERM=dumb``) and
colour (such a terminal, unless ``NO_COLOR`` is set, https://no-color.org). Standard library only."""

from __future__ import annotations

import os
from typing import TextIO

from deployer.domain.model import OPEN_STATUSES, SERVING_STATUSES

_RESET = "\x1b[0m"
_GREEN, _YELLOW, _RED = "\x1b[32m", "\x1b[33m", "\x1b[31m"


def rewritable(out: TextIO) -> bool:
    """Whether ``out`` is a terminal that understands moving the cursor back."""
    return out.isatty() and os.environ.get("TERM", "") != "dumb"


def coloured(out: TextIO) -> bool:
    """Whether to colour what goes to ``out``."""
    return rewritable(out) and not os.environ.get("NO_COLOR")


def status(line: str, value: str, enabled: bool) -> str:
    """``line`` with its first ``: <status>`` in the status's colour: green serving, yellow
    still open, red for the rest (failed, unhealthy, timed out, refused)."""
    if not enabled:
        return line
    if value in SERVING_STATUSES:
        colour = _GREEN
    elif value in OPEN_STATUSES:
        colour = _YELLOW
    else:
        colour = _RED
    return line.replace(f": {value}", f": {colour}{value}{_RESET}", 1)
