"""The Azure side of the ports: Table Storage, Foundry, ARM role assignments, credentials, webhooks and
Event Grid topics. Only ``deployer.bootstrap`` imports them."""
