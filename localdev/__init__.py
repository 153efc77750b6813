"""Local stand-ins for Azure: the Foundry Agent Service emulator, the Functions dev host and the
stack launcher. Used by ``make run`` and ``make test``; never published to Azure."""
