"""The configuration: ``deployer.yaml`` read into domain values, and the app settings."""
