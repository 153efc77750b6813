"""``python -m localdev.devhost``: serve a function app as ``func start`` would.

Loads ``--settings`` (``local.settings.json``; may be absent) into the environment, imports ``--app``
(``module:attribute``), listens on ``--host``/``--port`` (default ``DEPLOYER_PORT``, else 7071; 0 picks a
free port), checks the keys set in ``DEVHOST_FUNCTION_KEY`` and ``DEVHOST_EVENTGRID_KEY`` (:mod:`.keys`),
prints exactly one ``READY http://<host>:<port>`` line to stdout once listening, logs to stderr, and
shuts down cleanly (timers stopped, server closed) on SIGTERM or SIGINT. Exit status: 0 after a signal,
1 when the app cannot be loaded or served.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .host import start_devhost
from .index import load_app
from .keys import HostKeys
from .log import log
from .settings import load_local_settings

__all__ = ["main", "parse_args"]

DEFAULT_PORT = 7071


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m localdev.devhost", description=__doc__.split("\n")[0])
    parser.add_argument("--app", default="function_app:app", help="module:attribute (default %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=None, help="default: $DEPLOYER_PORT, else 7071; 0: free")
    parser.add_argument("--settings", default=None, help="local.settings.json to load (may be absent)")
    parser.add_argument("--no-timers", action="store_true", help="do not fire timers on their schedules")
    return parser.parse_args(argv)


def _port(requested: int | None) -> int:
    if requested is not None:
        return requested
    configured = os.environ.get("DEPLOYER_PORT", "").strip()
    if not configured:
        return DEFAULT_PORT
    if not configured.isdigit():
        raise ValueError(f"DEPLOYER_PORT must be a port number, not {configured!r}")
    return int(configured)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def main(argv: Sequence[str] | None = None) -> int:
    """Run the dev host until SIGTERM/SIGINT; returns the exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    stop = _stop_on_signals()
    try:
        load_local_settings(args.settings)
        app = load_app(args.app)
        devhost = start_devhost(
            app,
            host=args.host,
            port=_port(args.port),
            run_timers=not args.no_timers,
            keys=HostKeys.from_env(),
        )
    except Exception as error:
        log(f"error: cannot start: {type(error).__name__}: {error}")
        return 1
    print(f"READY {devhost.url}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        devhost.shutdown()
    return 0
