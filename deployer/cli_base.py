"""What every ``agent-deployer`` command shares: exit codes, the argument parser, subcommands
with the common options, and the API client from ``--url``/``--key``. Standard library only."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

from deployer.api.client import Client

DEFAULT_URL = "http://127.0.0.1:7071"
EXIT_OK, EXIT_FAILED, EXIT_TIMED_OUT, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2, 3, 4


class Parser(argparse.ArgumentParser):
    """Usage errors exit 4: exit code 2 means "timed out" to a pipeline."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


class Commands:
    """Adds subcommands that take the common options (and ``--json``, by default)."""

    def __init__(self, group: Any, common: argparse.ArgumentParser) -> None:
        self.group = group
        self._common = common

    def add(self, name: str, run: Any, help_text: str, *, json: bool = True) -> argparse.ArgumentParser:
        """A subcommand ``name`` that calls ``run(args)`` and returns its exit code."""
        sub: argparse.ArgumentParser = self.group.add_parser(
            name, help=help_text, description=help_text, parents=[self._common]
        )
        sub.set_defaults(run=run)
        if json:
            sub.add_argument("--json", action="store_true", help="print the API's JSON")
        return sub


def client(args: argparse.Namespace) -> Client:
    """The deployer's API client: ``--url``/``DEPLOYER_URL`` and ``--key``/``DEPLOYER_KEY``."""
    url = getattr(args, "url", None) or os.environ.get("DEPLOYER_URL") or DEFAULT_URL
    return Client(url, getattr(args, "key", None) or os.environ.get("DEPLOYER_KEY") or None)
