"""agent-deployer's benchmarks (``make bench``): each figure next to its floor, measured in the
same run on the local stack (Azurite, the Foundry emulator, the Functions dev host)."""
