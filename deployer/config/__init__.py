"""The configuration: ``deployer.yaml`` read into domain values through one set of pydantic models
(``document``, ``agent``, ``subscribers``; ``parser`` reads the file and exports its JSON Schema),
and the app settings."""
