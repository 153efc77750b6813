"""The HTTP API's parts, none of which imports ``azure.functions``: problem documents (RFC 9457),
request parsing into frozen values, caller identity (App Service Authentication), Idempotency-Key,
health checks and the OpenAPI document, wired to the triggers by
``deployer.entrypoints.http_api``; and, for the CLI, a stdlib-only client and text rendering."""
