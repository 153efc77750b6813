"""What every ``agent-deployer`` command shares: exit codes, the argument parser, subcommands
with the common options, the API client from ``--url``/``--key``, and what a deployment's
status means to a pipeline. Standard library only."""

from __future__ import annotations

import argparse
import os
from typing import Any, NoReturn

from deployer.cli.client import Client
from deployer.cli.problems import UsageError
from deployer.domain.model import OPEN_STATUSES, SERVING_STATUSES

DEFAULT_URL = "http://127.0.0.1:7071"
EXIT_OK, EXIT_FAILED, EXIT_TIMED_OUT, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2, 3, 4


class Parser(argparse.ArgumentParser):
    """Usage errors are raised as :class:`UsageError` (``main`` reports them and exits 4: exit code 2
    means "timed out" to a pipeline)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.prog, message, self.format_usage())


class Commands:
    """Adds subcommands that take the common options (and ``--json``, by default)."""

    def __init__(self, group: Any, common: argparse.ArgumentParser) -> None:
        self.group = group
        self._common = common

    def add(
        self, name: str, run: Any, help_text: str, *, example: str, json: bool = True
    ) -> argparse.ArgumentParser:
        """A subcommand ``name`` that calls ``run(args)`` and returns its exit code; its help
        ends with ``example`` (a command line, without the program name)."""
        sub: argparse.ArgumentParser = self.group.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=f"example:\n  agent-deployer {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[self._common],
        )
        sub.set_defaults(run=run)
        if json:
            sub.add_argument("--json", action="store_true", help="print the API's JSON")
        return sub


def follow_options(sub: argparse.ArgumentParser) -> None:
    """``--wait`` (follow the deployment to its end), ``--timeout`` and the hidden ``--interval``."""
    sub.add_argument("--wait", action="store_true", help="follow the deployment to its end state")
    sub.add_argument("--timeout", type=float, help="with --wait: give up after S seconds (exit 2)")
    sub.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)


def client(args: argparse.Namespace) -> Client:
    """The deployer's API client: ``--url``/``DEPLOYER_URL`` and ``--key``/``DEPLOYER_KEY``."""
    url = getattr(args, "url", None) or os.environ.get("DEPLOYER_URL") or DEFAULT_URL
    key = getattr(args, "key", None) or os.environ.get("DEPLOYER_KEY") or None
    return Client(url, key, keep_text=bool(getattr(args, "json", False)))


def exit_code(deployment: dict[str, Any]) -> int:
    """What a pipeline should make of a deployment's status: ``active`` and ``verified`` (or
    still open, without ``--wait``) 0; ``failed`` and ``unhealthy`` 1; ``timed_out`` 2;
    ``skipped`` 3."""
    status = deployment["status"]
    if status in OPEN_STATUSES or status in SERVING_STATUSES:
        return EXIT_OK
    if status == "timed_out":
        return EXIT_TIMED_OUT
    if status in ("skipped", "refused", "ignored"):
        return EXIT_REFUSED
    if status == "superseded":  # a newer deployment took over: fine if this one ran first
        return EXIT_OK if any(h["status"] in SERVING_STATUSES for h in deployment["history"]) else EXIT_FAILED
    return EXIT_FAILED
