"""Command line: ``python -m localdev.arm_emulator --host H --port N --tls-dir DIR``.

Prints exactly one line, ``READY https://<host>:<port>``, to stdout once listening (port 0 picks
a free port), and exits cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import sys

from localdev.arm_emulator.server import start_arm_emulator
from localdev.serve_cli import serve


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until SIGTERM or SIGINT."""
    return serve(start_arm_emulator, prog="python -m localdev.arm_emulator", description=__doc__, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
