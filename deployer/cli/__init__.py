"""``agent-deployer``, the command line: the standard library only, so it installs without the Azure SDKs."""
