"""``python -m deployer``: the agent-deployer CLI."""

import sys

from deployer.cli.main import main

sys.exit(main())
