"""What the CLI writes reaches a terminal: text from the deployer (a request's ``reason``, a
caller's name, a platform message) must not carry control sequences (ANSI/OSC escapes can
rewrite the screen, retitle the window or hide a link; a carriage return can overwrite a line).
The client strips every string in the deployer's answers of C0/C1 control characters (tab and
newline stay) and of the bidirectional overrides that reorder what is shown, so the CLI's own
sequences (the live line, colours) are the only ones it writes."""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without the characters a terminal would act on."""
    return _UNSAFE.sub("", text)
