"""Command line: ``python -m localdev.acr_emulator --host H --port N --tls-dir DIR``.

Prints exactly one line, ``READY https://<host>:<port>``, to stdout once listening (port 0
picks a free port), and exits cleanly on SIGTERM or SIGINT. The CA bundle path goes to stderr.
"""

from __future__ import annotations

import sys

from localdev.acr_emulator.server import start_registry
from localdev.serve_cli import serve


def main(argv: list[str] | None = None) -> int:
    """Run the stand-in until SIGTERM or SIGINT."""
    return serve(start_registry, prog="python -m localdev.acr_emulator", description=__doc__, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
