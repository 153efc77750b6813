"""Command line: ``python -m localdev.foundry_emulator --host H --port N --tls-dir DIR``.

Prints exactly one line, ``READY https://<host>:<port>``, to stdout once listening (port 0
picks a free port), and exits cleanly on SIGTERM or SIGINT. The CA bundle path goes to stderr.
"""

from __future__ import annotations

import sys

from localdev.foundry_emulator.server import start_emulator
from localdev.serve_cli import serve


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until SIGTERM or SIGINT."""
    return serve(start_emulator, prog="python -m localdev.foundry_emulator", description=__doc__, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
