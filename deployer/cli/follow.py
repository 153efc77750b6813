"""``--wait``: following a deployment to its end state. Survives a deployer that restarts or
answers 5xx for a while (retried with backoff until ``--timeout``); on a terminal one line
rewritten in place, cut to the terminal's width; piped, a line per change and a heartbeat every
30 s; every canary step a line of its own. Standard library only."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO
from urllib.parse import quote

from deployer.cli import style, text
from deployer.cli.base import EXIT_TIMED_OUT, exit_code
from deployer.cli.client import ApiError, Client
from deployer.domain.model import OPEN_STATUSES

HEARTBEAT_S = 30.0
_BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 15.0)  # then 15 s between attempts until the timeout
_CLEAR = "\r\x1b[K"


def report(args: argparse.Namespace, api: Client, deployment: dict[str, Any]) -> int:
    """Show a deployment a command started (following it with ``--wait``) and its exit code.
    With ``--wait`` its id comes first: on stderr, and as the first JSON line with ``--json``."""
    if not args.wait:
        print(json.dumps(deployment, indent=2) if args.json else text.outcome(deployment))
        for line in text.error_lines(deployment):
            print(line, file=sys.stderr)
        return exit_code(deployment)
    print(f"deployment {deployment['id']} started for {deployment['agent']}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(deployment), flush=True)
    deployment, timed_out = follow(api, deployment, args.timeout, args.interval, sys.stderr)
    outcome = style.status(text.outcome(deployment), deployment["status"], style.coloured(sys.stdout))
    print(json.dumps(deployment) if args.json else outcome)
    for line in text.error_lines(deployment):
        print(line, file=sys.stderr)
    if not timed_out:
        return exit_code(deployment)
    print(
        f"gave up waiting after {text.duration(args.timeout or 0)}: the deployment is still"
        f" {deployment['status']}; follow it with: {_status_command(args, deployment['id'])}",
        file=sys.stderr,
    )
    return EXIT_TIMED_OUT


def _status_command(args: argparse.Namespace, deployment_id: str) -> str:
    url = f" --url {args.url}" if getattr(args, "url", None) else ""
    return f"agent-deployer status {deployment_id}{url}"


def follow(
    client: Client,
    deployment: dict[str, Any],
    timeout_s: float | None,
    interval_s: float,
    out: TextIO,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[dict[str, Any], bool]:
    """Poll the deployment until it ends or ``timeout_s`` runs out, showing its progress on
    ``out``; the last state seen and whether the wait ran out first."""
    watch = _Watch(client, out, timeout_s, clock, sleep)
    while True:
        watch.show(deployment)
        if deployment["status"] not in OPEN_STATUSES or watch.remaining() <= 0:
            break
        sleep(min(interval_s, watch.remaining()))
        fetched = watch.fetch(deployment["id"])
        if fetched is None:  # the deployer stayed unreachable until the timeout
            break
        deployment = fetched
    watch.close()
    return deployment, deployment["status"] in OPEN_STATUSES


def canary_step(before: int, after: int, steps: list[int] | None, next_at: str | None) -> str:
    """``canary 10% → 50% (step 2/3, next at 12:03:10Z)``: one step of a canary's traffic
    (numbered by the agent's steps when known; a promotion jumps to the last)."""
    if steps and after in steps:
        of = f"step {steps.index(after) + 1}/{len(steps)}"
    else:
        of = "promoted" if after == 100 else f"at {after}%"
    last = after == 100
    when = "" if last or not next_at else f", next at {clock_time(next_at)}"
    return f"canary {before}% → {after}% ({of}{when})"


def clock_time(when: str) -> str:
    """``12:03:10Z``: the time of day of an ISO 8601 UTC time (the API's), for times within
    the next minutes."""
    return when[11:19] + "Z"


def _backoff() -> Iterator[float]:
    yield from _BACKOFF_S
    while True:
        yield _BACKOFF_S[-1]


class _Watch:
    """What ``follow`` has shown so far, and the clock it runs against."""

    def __init__(
        self,
        client: Client,
        out: TextIO,
        timeout_s: float | None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.client, self.out, self.clock, self.sleep = client, out, clock, sleep
        self.started = self.line_at = clock()
        self.deadline = float("inf") if timeout_s is None else self.started + timeout_s
        self.live = style.rewritable(out)
        self.colour = style.coloured(out)
        self.status: str | None = None
        self.shifts_shown = 0
        self.steps: list[int] | None = None

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def fetch(self, deployment_id: str) -> dict[str, Any] | None:
        """The deployment now; through connection errors and 5xx until the timeout (``None``)."""
        for delay in _backoff():
            try:
                found: dict[str, Any] = self.client.send(
                    "GET", f"/api/deployments/{quote(deployment_id, safe='')}", retry=False
                ).body
                return found
            except ApiError as exc:
                if exc.refused:
                    raise
                wait = min(delay, self.remaining())
                if wait <= 0:
                    return None
                self.note(f"{exc}; retrying in {text.duration(wait)}")
                self.sleep(wait)
        raise AssertionError("unreachable")

    def show(self, deployment: dict[str, Any]) -> None:
        elapsed = self.clock() - self.started
        for line in self._canary_steps(deployment):
            self.note(line)
        if self.live:
            line = self._fit(text.progress(deployment, elapsed))
            self._write(_CLEAR + style.status(line, deployment["status"], self.colour))
        elif deployment["status"] != self.status:
            self.note(text.progress(deployment, elapsed))
        elif self.clock() - self.line_at >= HEARTBEAT_S:
            self.note(f"still {deployment['status']} after {text.duration(elapsed)}")
        self.status = deployment["status"]

    def note(self, line: str) -> None:
        """A line of its own (above the live line on a terminal)."""
        self._write((_CLEAR + self._fit(line) if self.live else line) + "\n")
        self.line_at = self.clock()

    def close(self) -> None:
        if self.live:
            self._write("\n")

    def _canary_steps(self, deployment: dict[str, Any]) -> list[str]:
        """A line for each traffic shift not shown yet, from the history: those that happened
        while the deployer could not be reached too."""
        shifts = [h["percentage"] for h in deployment["history"] if h["status"] == "traffic_shifted"]
        if len(shifts) <= self.shifts_shown:
            return []
        if self.steps is None:
            self.steps = self._steps_of(deployment["agent"])
        waiting = deployment["status"] == "canary"
        next_at = (deployment.get("canary") or {}).get("next_at") if waiting else None
        *missed, (before, after) = list(itertools.pairwise([0, *shifts]))[self.shifts_shown :]
        self.shifts_shown = len(shifts)
        lines = [canary_step(b, a, self.steps, None) for b, a in missed]
        return [*lines, canary_step(before, after, self.steps, next_at)]

    def _steps_of(self, agent: str) -> list[int] | None:
        try:
            agents = self.client.get("/api/agents")["items"]
        except ApiError:  # the steps are a nicety: "step 2" instead of "step 2/3"
            return None
        return next((a.get("canary_steps") for a in agents if a["name"] == agent), None)

    def _fit(self, line: str) -> str:
        """The line cut to the terminal's width, so rewriting it in place never wraps."""
        try:
            width = os.get_terminal_size(self.out.fileno()).columns
        except (OSError, ValueError, AttributeError):
            width = shutil.get_terminal_size().columns
        return line if len(line) < width else line[: max(width - 2, 1)] + "…"

    def _write(self, chunk: str) -> None:
        self.out.write(chunk)
        self.out.flush()
