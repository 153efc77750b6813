"""Command line: ``python -m localdev.arm_emulator --host H --port N --tls-dir DIR``.

Prints exactly one line, ``READY https://<host>:<port>``, to stdout once listening (port 0 picks
a free port), and exits cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from localdev.arm_emulator.server import start_arm_emulator
from localdev.tls import ensure_local_tls


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command-line arguments."""
    parser = argparse.ArgumentParser(prog="python -m localdev.arm_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    parser.add_argument(
        "--tls-dir",
        type=Path,
        default=Path(".local/tls"),
        help="directory of the local CA and server certificate (created when absent)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until SIGTERM or SIGINT."""
    args = parse_args(argv)
    tls = ensure_local_tls(args.tls_dir)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    server = start_arm_emulator(host=args.host, port=args.port, tls=tls)
    try:
        print(f"CA bundle: {tls.ca_bundle} (set REQUESTS_CA_BUNDLE)", file=sys.stderr)
        print(f"READY {server.url}", flush=True)
        while not stop.wait(timeout=1.0):
            pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
