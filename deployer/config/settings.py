"""The app settings agent-deployer reads, in one place.

Infrastructure code (``infra/``) and ``local.settings.example.json`` are checked against
:data:`AZURE_SETTINGS` and :data:`LOCAL_ONLY_SETTINGS` so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_POLL_SCHEDULE = "*/5 * * * * *"
#: The notification sender's timer: an entry is first tried within this long of its transition.
DEFAULT_NOTIFY_SCHEDULE = "*/5 * * * * *"
#: Azure Resource Manager, where role assignments are made (another cloud's, or an emulator's, by setting).
DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
#: The app role mutating HTTP routes require where App Service Authentication is in front.
DEFAULT_WRITE_ROLE = "Deployer.Write"

#: Settings a deployment in Azure sets (``infra/`` must set every one of them).
AZURE_SETTINGS: tuple[str, ...] = (
    "DEPLOYER_CONFIG",
    "FOUNDRY_PROJECT_ENDPOINT",
    "POLL_SCHEDULE",
    "POLL_CONCURRENCY",
    "POLL_BUDGET_S",
    "AZURE_CLIENT_ID",
    "DEPLOYER_TABLE_ENDPOINT",
    "DEPLOYER_TABLE_NAME",
    "ARM_ENDPOINT",
    "DEPLOYER_WRITE_ROLE",
)

#: Settings only the local stack uses: a connection string for Azurite, a static bearer token
#: for the emulators, and the origin of the registry stand-in (registry ``R`` is called at
#: ``{DEPLOYER_REGISTRY_ENDPOINT}/R`` instead of ``https://R``). Never set in Azure.
LOCAL_ONLY_SETTINGS: tuple[str, ...] = (
    "DEPLOYER_TABLE_CONNECTION_STRING",
    "DEPLOYER_STATIC_TOKEN",
    "WEBHOOKS_ALLOW_LOOPBACK",
    "DEPLOYER_REGISTRY_ENDPOINT",
)


#: How an app setting that is a Key Vault reference starts when App Service could not resolve it:
#: the app then sees the reference text itself ("Key Vault references", App Service docs).
KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("


class SettingsError(ValueError):
    """An app setting is missing or malformed."""


def unresolved_reference(name: str, value: str) -> str | None:
    """What is wrong when ``value`` of app setting ``name`` is an unresolved Key Vault reference."""
    if not value.strip().startswith(KEY_VAULT_REFERENCE):
        return None
    return (
        f"{name} is an unresolved Key Vault reference: App Service could not read the secret "
        "(check that the app's identity may read it and that the secret exists; the portal's "
        "Environment variables page shows the reference's status)"
    )


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Typed view of the app settings (environment variables) the deployer reads."""

    config_path: str
    project_endpoint: str | None
    poll_schedule: str
    poll_concurrency: int
    poll_budget_s: float
    client_id: str | None
    table_endpoint: str | None
    table_connection_string: str | None
    table_name: str
    static_token: str | None
    webhooks_allow_loopback: bool
    #: The app's host name, for links in Slack and Teams messages. ``WEBSITE_HOSTNAME`` is set by
    #: the platform itself (never by infra, so it is in neither list above).
    public_host: str | None = None
    arm_endpoint: str = DEFAULT_ARM_ENDPOINT
    #: The app role a caller signed in through App Service Authentication needs for POST routes.
    write_role: str = DEFAULT_WRITE_ROLE
    #: Local only: the origin that replaces ``https://`` before each registry's login server.
    registry_endpoint: str | None = None
    #: App Service Authentication is on: ``WEBSITE_AUTH_ENABLED``, set by the platform itself
    #: (never by infra). Only then is ``x-ms-client-principal`` trusted.
    auth_enabled: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read settings from ``env``; raise :class:`SettingsError` naming a bad one."""
        for name in (*AZURE_SETTINGS, *LOCAL_ONLY_SETTINGS, "WEBSITE_HOSTNAME"):
            problem = unresolved_reference(name, env.get(name, ""))
            if problem:
                raise SettingsError(problem)
        return cls(
            config_path=env.get("DEPLOYER_CONFIG") or "deployer.yaml",
            project_endpoint=env.get("FOUNDRY_PROJECT_ENDPOINT") or None,
            poll_schedule=env.get("POLL_SCHEDULE") or DEFAULT_POLL_SCHEDULE,
            poll_concurrency=_positive_int(env, "POLL_CONCURRENCY", 8),
            poll_budget_s=_positive_float(env, "POLL_BUDGET_S", 20.0),
            client_id=env.get("AZURE_CLIENT_ID") or None,
            table_endpoint=env.get("DEPLOYER_TABLE_ENDPOINT") or None,
            table_connection_string=env.get("DEPLOYER_TABLE_CONNECTION_STRING") or None,
            table_name=env.get("DEPLOYER_TABLE_NAME") or "deployments",
            static_token=env.get("DEPLOYER_STATIC_TOKEN") or None,
            webhooks_allow_loopback=(env.get("WEBHOOKS_ALLOW_LOOPBACK", "").lower() == "true"),
            public_host=env.get("WEBSITE_HOSTNAME") or None,
            arm_endpoint=_https_url(env, "ARM_ENDPOINT", DEFAULT_ARM_ENDPOINT),
            write_role=(env.get("DEPLOYER_WRITE_ROLE") or "").strip() or DEFAULT_WRITE_ROLE,
            registry_endpoint=_https_url(env, "DEPLOYER_REGISTRY_ENDPOINT", "") or None,
            auth_enabled=(env.get("WEBSITE_AUTH_ENABLED", "").strip().lower() == "true"),
        )


def _https_url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name) or default
    if raw and not raw.startswith("https://"):
        raise SettingsError(f"{name} must be an https:// URL, got {raw!r}")
    return raw.rstrip("/")


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be more than 0, got {value}")
    return value
