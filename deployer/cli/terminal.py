"""What the CLI writes reaches a terminal: text from the deployer (a request's ``reason``, a
caller's name, a platform message) must not carry control sequences (ANSI/OSC escapes can
rewrite the screen, retitle the window or hide a link; a carriage return can overwrite a line).
Every write to stdout and stderr is stripped of C0/C1 control characters (tab and newline
stay) and of the bidirectional overrides that reorder what is shown. JSON output is unchanged:
``json.dumps`` writes control characters as ``\\uXXXX`` already."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without the characters a terminal would act on."""
    return _UNSAFE.sub("", text)


class _Printable:
    """A text stream that writes :func:`printable` text to ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(printable(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def printable_output() -> Iterator[None]:
    """Within it, ``sys.stdout`` and ``sys.stderr`` write printable text only."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Printable(stdout), _Printable(stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr
