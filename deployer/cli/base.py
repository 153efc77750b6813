"""What every ``agent-deployer`` command shares: exit codes, the argument parser, subcommands
with the common options, the API client from ``--url``/``--key``, and following a
deployment to its end (``--wait``). Standard library only."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, NoReturn, TextIO

from deployer.cli import text
from deployer.cli.client import Client
from deployer.domain.model import OPEN_STATUSES, SERVING_STATUSES

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


def follow(
    client: Client, deployment: dict[str, Any], timeout_s: float | None, interval_s: float, out: TextIO
) -> tuple[dict[str, Any], bool]:
    """Poll the deployment until it ends (or ``timeout_s``), showing its progress on ``out``:
    a line rewritten in place on a terminal, a line per change otherwise."""
    started, live, shown = time.monotonic(), out.isatty(), ""
    while True:
        elapsed = time.monotonic() - started
        line = text.progress(deployment, elapsed)
        if live:
            out.write("\r\x1b[K" + line)
        elif deployment["status"] != shown:
            out.write(line + "\n")
        shown = deployment["status"]
        out.flush()
        if deployment["status"] not in OPEN_STATUSES or (timeout_s is not None and elapsed >= timeout_s):
            break
        time.sleep(interval_s)
        deployment = client.get(f"/api/deployments/{deployment['id']}")
    if live:
        out.write("\n")
    return deployment, deployment["status"] in OPEN_STATUSES


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
