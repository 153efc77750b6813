"""Errors as the CLI reports them, whoever found them (the deployer refused the request, or the
CLI itself: a usage error, an invalid config file, a deployer it cannot reach): a line for people
on stderr and, with ``--json``, one problem document (RFC 9457: ``type``, ``title``, ``status``,
``detail``) on stdout. The deployer's own problems are passed on as it sent them; ``status`` is the
deployer's HTTP status, ``null`` where the deployer gave no answer. Standard library only."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from deployer.domain.errors import PROBLEM_TYPE_PREFIX

#: slug -> title of the problems the CLI reports itself (the deployer's are in its OpenAPI document).
TITLES: Mapping[str, str] = {
    "usage": "The command line is not valid",
    "unreachable": "The deployer could not be reached",
    "deployer-failed": "The deployer failed",
    "invalid-config": "The configuration is invalid",
    "refused": "The command cannot be done now",
}


class UsageError(Exception):
    """The command line does not parse: ``usage`` is the command's usage text."""

    def __init__(self, prog: str, message: str, usage: str) -> None:
        super().__init__(f"{prog}: error: {message}")
        self.usage = usage


def problem(slug: str, detail: str, *, status: int | None = None, **extra: Any) -> dict[str, Any]:
    """The CLI's own problem document ``slug`` (one of :data:`TITLES`)."""
    return {
        "type": PROBLEM_TYPE_PREFIX + slug,
        "title": TITLES[slug],
        "status": status,
        "detail": detail,
        **extra,
    }


def report(document: Mapping[str, Any], lines: Sequence[str], *, as_json: bool) -> None:
    """``lines`` for people on stderr; with ``as_json`` the ``document`` on stdout first."""
    if as_json:
        print(json.dumps(document), flush=True)
    for line in lines:
        print(line, file=sys.stderr)
