"""The command line the local HTTPS stand-ins share: ``--host``, ``--port``, ``--tls-dir``,
``--settings`` (JSON, the stand-in's baseline settings), one ``READY https://<host>:<port>`` line
on stdout once listening, a clean exit on SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from localdev.tls import LocalTLS, ensure_local_tls

LISTEN_BACKLOG = 128
"""Pending connections a local server's listening socket holds (the standard library's 5 resets
or drops a burst of parallel requests)."""


class Served(Protocol):
    """What a stand-in's ``start_*`` function returns."""

    @property
    def url(self) -> str: ...

    def shutdown(self) -> None: ...


def parse_args(prog: str, description: str | None, argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the shared command-line arguments."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    parser.add_argument(
        "--tls-dir",
        type=Path,
        default=Path(".local/tls"),
        help="directory of the local CA and server certificate (created when absent)",
    )
    parser.add_argument(
        "--settings",
        type=_json_object,
        default={},
        help="JSON object of settings (as for PUT /_emulator/settings) that reset goes back to",
    )
    return parser.parse_args(argv)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def serve(
    start: Callable[..., Served], *, prog: str, description: str | None, argv: list[str] | None = None
) -> int:
    """Run ``start(host=, port=, tls=, settings=)`` until SIGTERM or SIGINT."""
    args = parse_args(prog, description, argv)
    tls: LocalTLS = ensure_local_tls(args.tls_dir)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        server = start(host=args.host, port=args.port, tls=tls, settings=args.settings)
    except Exception as exc:  # bad --settings or a port in use: say so, no traceback
        print(f"error: cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        print(f"CA bundle: {tls.ca_bundle} (set REQUESTS_CA_BUNDLE and SSL_CERT_FILE)", file=sys.stderr)
        print(f"READY {server.url}", flush=True)
        while not stop.wait(timeout=1.0):
            pass
    finally:
        server.shutdown()
    return 0
