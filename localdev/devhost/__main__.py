"""Entry point for ``python -m localdev.devhost``; see :mod:`localdev.devhost.cli`."""

from localdev.devhost.cli import main

raise SystemExit(main())
