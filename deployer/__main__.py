"""``python -m deployer``: the agent-deployer CLI."""

import sys

from deployer.cli import main

sys.exit(main())
