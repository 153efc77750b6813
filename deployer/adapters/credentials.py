"""The credential the deployer uses for Foundry and Table Storage, chosen by configuration."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential


class StaticTokenCredential:
    """A ``TokenCredential`` that always returns one configured bearer token.

    Chosen when the ``DEPLOYER_STATIC_TOKEN`` setting is present (the local Foundry emulator
    accepts any bearer token). In Azure the setting is absent and
    ``DefaultAzureCredential`` is used.
    """

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    def __repr__(self) -> str:
        return "StaticTokenCredential(token=***)"


def build_credential(*, static_token: str | None, client_id: str | None) -> TokenCredential:
    """Return the configured credential; ``client_id`` selects a user-assigned identity."""
    if static_token:
        return StaticTokenCredential(static_token)
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=client_id)
