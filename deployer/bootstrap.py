"""The composition root: builds settings, configuration and clients once, on first use.

Nothing here runs at import time (cold start matters: the Functions host imports the app to
index its functions before any of them runs). The configuration's parser (pydantic, YAML) and
the Azure SDKs are imported only when the first invocation needs them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from deployer.config.settings import Settings, SettingsError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from deployer.adapters.registry import AcrRegistry
    from deployer.adapters.table_store import TableDeploymentStore
    from deployer.context import Context
    from deployer.domain.addresses import Resolver
    from deployer.domain.agents import DeployerConfig
    from deployer.notify.outbox import Delivery

log = logging.getLogger(__name__)


class Root:
    """Everything the triggers need, built lazily from the app settings in ``env``."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._lock = threading.Lock()
        self._config: DeployerConfig | None = None
        self._reported: set[str] = set()

    @cached_property
    def settings(self) -> Settings:
        try:
            return Settings.from_env(self._env)
        except SettingsError as exc:
            self._report(exc)
            raise

    @property
    def config(self) -> DeployerConfig:
        """The configuration file, read and checked by the first use in this process (once:
        concurrent first invocations wait for the one reading it). An invalid file or setting
        raises on every use, and is logged once, so the first invocation's log says what to fix."""
        with self._lock:
            if self._config is None:
                self._config = self._load_config()
            return self._config

    def _load_config(self) -> DeployerConfig:
        from deployer.config.parser import ConfigError, load_config

        path = Path(self.settings.config_path)
        # Names of webhook and topic hosts are not resolved here: a name resolving to a refused
        # address must fail its subscriber when sending, not stop every trigger.
        full = str(path if path.is_absolute() else APP_ROOT / path)
        try:
            return load_config(full, self._env, resolve_names=False)
        except ConfigError as exc:
            self._report(exc)
            raise

    def _report(self, exc: ValueError) -> None:
        # Each problem once: the timers retry every few seconds until the file or setting is fixed.
        if str(exc) not in self._reported:
            self._reported.add(str(exc))
            log.critical("agent-deployer configuration is invalid: %s", exc)

    @cached_property
    def store(self) -> TableDeploymentStore:
        from azure.data.tables import TableServiceClient

        from deployer.adapters.table_store import TableDeploymentStore

        settings = self.settings
        if settings.table_connection_string:
            service = TableServiceClient.from_connection_string(settings.table_connection_string)
        elif settings.table_endpoint:
            service = TableServiceClient(endpoint=settings.table_endpoint, credential=self._credential)
        else:
            raise SettingsError("set DEPLOYER_TABLE_ENDPOINT (or DEPLOYER_TABLE_CONNECTION_STRING locally)")
        # Never created here: the app's identity holds a table-scoped role, and creating a table
        # is an account-level action. Infra (and the local stack) create it; a missing table is
        # StoreUnavailable on every use until it exists.
        return TableDeploymentStore(service.get_table_client(settings.table_name))

    @cached_property
    def context(self) -> Context:
        from deployer.adapters.arm_roles import AzureRoleAssignments
        from deployer.adapters.foundry import FoundryPlatform
        from deployer.context import Context
        from deployer.domain.clock import SystemClock

        return Context(
            config=self.config,
            store=self.store,
            platform=FoundryPlatform(self._credential),
            clock=SystemClock(),
            default_endpoint=self.settings.project_endpoint,
            roles=AzureRoleAssignments(self._credential, endpoint=self.settings.arm_endpoint),
            registry=self.registry,
        )

    @cached_property
    def registry(self) -> AcrRegistry:
        """The registries images are checked in: ``https://{login server}``, or under the
        ``DEPLOYER_REGISTRY_ENDPOINT`` origin locally."""
        from deployer.adapters.registry import AcrRegistry

        return AcrRegistry(self._credential, endpoint_base=self.settings.registry_endpoint)

    @cached_property
    def delivery(self) -> Delivery:
        """The notification sender's ways out: webhooks over the SSRF-safe transport (TLS trust
        from the system, or ``SSL_CERT_FILE`` locally) and Event Grid with the app's credential."""
        from deployer.adapters.eventgrid_topic import EventGridTopicPublisher
        from deployer.adapters.safe_http import SafeHttpTransport
        from deployer.domain.addresses import system_resolve
        from deployer.notify.outbox import Delivery

        allow_loopback = self.settings.webhooks_allow_loopback
        topics = None
        if self.config.event_grid_topic is not None:
            topics = EventGridTopicPublisher(
                self._credential, allow_loopback=allow_loopback, resolver=system_resolve
            )
        host = self.settings.public_host
        return Delivery(
            webhooks=SafeHttpTransport(allow_loopback=allow_loopback),
            topics=topics,
            links_base=f"https://{host}" if host else None,
        )

    @property
    def resolver(self) -> Resolver:
        """DNS, as the notification sender resolves webhook and topic hosts."""
        from deployer.domain.addresses import system_resolve

        return system_resolve

    @cached_property
    def _credential(self) -> TokenCredential:
        from deployer.adapters.credentials import build_credential

        return build_credential(static_token=self.settings.static_token, client_id=self.settings.client_id)


#: The app's root folder (where function_app.py is): relative config paths are read from here,
#: whatever the worker's current directory.
APP_ROOT = Path(__file__).resolve().parent.parent

_root: Root | None = None
_lock = threading.Lock()


def root() -> Root:
    """The process-wide composition root, made on first call."""
    global _root  # noqa: PLW0603 - one root per worker process, by design
    with _lock:
        if _root is None:
            _root = Root(os.environ)
        return _root


def quiet_sdk_logging() -> None:
    """Keep the Azure SDKs' per-request logs (every request with its headers, at INFO) out of
    the host's log: they cost a few milliseconds a push and drown the deployer's own lines."""
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
    logging.getLogger("azure.identity").setLevel(logging.WARNING)
