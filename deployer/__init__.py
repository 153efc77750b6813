"""agent-deployer: creates, tracks and announces Microsoft Foundry hosted-agent versions."""
