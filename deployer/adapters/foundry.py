"""The Foundry Agent Service through azure-ai-projects: the :class:`deployer.ports.AgentPlatform`
adapter. One ``AIProjectClient`` per project endpoint, made on first use (the SDK is heavy to
import, so it is imported here, not at start-up)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from azure.core.credentials import TokenCredential

from deployer.adapters import foundry_invoke
from deployer.domain.errors import PlatformError
from deployer.domain.hints import PROJECT_NOT_FOUND
from deployer.domain.platform import InvokeReply, InvokeRequest, VersionInfo, VersionSpec
from deployer.domain.rollout_state import Traffic, traffic_of
from deployer.domain.transitions import CREATE_READ_TIMEOUT_S, CREATE_RETRY_BUDGET_S

if TYPE_CHECKING:
    from azure.ai.projects import AIProjectClient


class FoundryPlatform:
    """Creates, reads, lists and deletes hosted-agent versions, routes the agent's traffic by its
    version selector, and calls one version's endpoint."""

    def __init__(self, credential: TokenCredential, *, read_timeout_s: float = 30.0) -> None:
        self._credential = credential
        self._read_timeout_s = read_timeout_s
        self._clients: dict[str, AIProjectClient] = {}
        self._lock = threading.Lock()

    def create_version(self, endpoint: str, agent: str, spec: VersionSpec) -> VersionInfo:
        from azure.ai.projects.models import (
            AgentEndpointProtocol,
            ContainerConfiguration,
            HostedAgentDefinition,
            ProtocolVersionRecord,
        )

        definition = HostedAgentDefinition(
            cpu=spec.cpu,
            memory=spec.memory,
            container_configuration=ContainerConfiguration(image=spec.image),
            protocol_versions=[
                ProtocolVersionRecord(protocol=AgentEndpointProtocol(name), version=version)
                for name, version in spec.protocols.items()
            ],
            environment_variables=dict(spec.environment_variables),
        )
        with _translated_errors(endpoint):
            details = self._client(endpoint).agents.create_version(
                agent,
                definition=definition,
                metadata=dict(spec.metadata),
                read_timeout=CREATE_READ_TIMEOUT_S,
                timeout=CREATE_RETRY_BUDGET_S,  # azure-core RetryPolicy: no retry after this
            )
        return _version_info(details)

    def get_version(self, endpoint: str, agent: str, version: str) -> VersionInfo:
        with _translated_errors(endpoint):
            return _version_info(self._client(endpoint).agents.get_version(agent, version))

    def list_versions(self, endpoint: str, agent: str) -> list[VersionInfo]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            with _translated_errors(endpoint, passthrough=ResourceNotFoundError):
                return [_version_info(v) for v in self._client(endpoint).agents.list_versions(agent)]
        except ResourceNotFoundError:
            return []

    def delete_version(self, endpoint: str, agent: str, version: str, *, force: bool = False) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            with _translated_errors(endpoint, passthrough=ResourceNotFoundError):
                self._client(endpoint).agents.delete_version(agent, version, force=force or None)
        except ResourceNotFoundError:
            return

    def get_traffic(self, endpoint: str, agent: str) -> Traffic:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            with _translated_errors(endpoint, passthrough=ResourceNotFoundError):
                details = self._client(endpoint).agents.get(agent)
        except ResourceNotFoundError:
            return ()
        return _traffic(details)

    def set_traffic(self, endpoint: str, agent: str, traffic: Traffic) -> None:
        from azure.ai.projects.models import (
            AgentEndpointConfig,
            FixedRatioVersionSelectionRule,
            VersionSelectionRule,
            VersionSelector,
        )

        rules: list[VersionSelectionRule] = [
            FixedRatioVersionSelectionRule(agent_version=rule.version, traffic_percentage=rule.percentage)
            for rule in traffic
        ]
        selector = VersionSelector(version_selection_rules=rules)
        with _translated_errors(endpoint):
            self._client(endpoint).agents.update_details(
                agent, agent_endpoint=AgentEndpointConfig(version_selector=selector)
            )

    def get_protocols(self, endpoint: str, agent: str) -> frozenset[str] | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            with _translated_errors(endpoint, passthrough=ResourceNotFoundError):
                details = self._client(endpoint).agents.get(agent)
        except ResourceNotFoundError:
            return None
        return _protocols(details)

    def set_protocols(self, endpoint: str, agent: str, protocols: frozenset[str]) -> None:
        from azure.ai.projects.models import AgentEndpointConfig, ProtocolConfiguration

        # Each protocol's own configuration is left as it is: an empty object merges into it.
        configuration = ProtocolConfiguration({name: {} for name in sorted(protocols)})
        with _translated_errors(endpoint):
            self._client(endpoint).agents.update_details(
                agent, agent_endpoint=AgentEndpointConfig(protocol_configuration=configuration)
            )

    def invoke(self, endpoint: str, agent: str, request: InvokeRequest) -> InvokeReply:
        if request.protocol == "responses":
            return foundry_invoke.invoke_responses(self._client(endpoint), agent, request)
        return foundry_invoke.invoke_invocations(endpoint, self._credential, agent, request)

    def has_model_deployment(self, endpoint: str, name: str) -> bool:
        return self._exists(endpoint, lambda: self._client(endpoint).deployments.get(name))

    def has_connection(self, endpoint: str, name: str) -> bool:
        return self._exists(endpoint, lambda: self._client(endpoint).connections.get(name))

    def _exists(self, endpoint: str, read: Callable[[], object]) -> bool:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            with _translated_errors(endpoint, passthrough=ResourceNotFoundError):
                read()
        except ResourceNotFoundError:
            return False
        return True

    def ping(self, endpoint: str, timeout_s: float) -> None:
        # Listing one agent is the cheapest authenticated call; no retries so an outage shows at once.
        with _translated_errors(endpoint):
            pages = self._client(endpoint).agents.list(
                limit=1, retry_total=0, connection_timeout=timeout_s, read_timeout=timeout_s
            )
            next(iter(pages.by_page()), None)

    def _client(self, endpoint: str) -> AIProjectClient:
        with self._lock:
            client = self._clients.get(endpoint)
            if client is None:
                from azure.ai.projects import AIProjectClient

                client = AIProjectClient(
                    endpoint=endpoint,
                    credential=self._credential,
                    allow_preview=True,
                    read_timeout=self._read_timeout_s,
                )
                self._clients[endpoint] = client
            return client


@contextmanager
def _translated_errors(endpoint: str, passthrough: type[Exception] | None = None) -> Iterator[None]:
    """Turn azure-core errors into :class:`PlatformError` with the service's code and message; a
    project that does not exist is :data:`PROJECT_NOT_FOUND` (never "no such agent")."""
    from azure.core.exceptions import AzureError, HttpResponseError

    try:
        yield
    except HttpResponseError as exc:
        status = exc.status_code
        code, message = _service_error(exc)
        if status == 404 and _project_missing(code, message):
            raise PlatformError(
                code=PROJECT_NOT_FOUND,
                message=f"the Foundry project at {endpoint} does not exist",
                status_code=status,
                retryable=False,
            ) from exc
        if passthrough and isinstance(exc, passthrough):
            raise
        retryable = status is None or status == 429 or status >= 500
        raise PlatformError(code=code, message=message, status_code=status, retryable=retryable) from exc
    except AzureError as exc:
        raise PlatformError(
            code="ServiceUnreachable", message=str(exc)[:500], status_code=None, retryable=True
        ) from exc


def _project_missing(code: str, message: str) -> bool:
    """The platform's answer for a wrong project name: 404 ``ResourceNotFound``, "The project
    does not exist." (a missing agent or version is another 404)."""
    return code == "ResourceNotFound" and "project does not exist" in message.lower()


def _service_error(exc: Any) -> tuple[str, str]:
    model = getattr(exc, "model", None)
    error = getattr(model, "error", None)
    code = getattr(error, "code", None) or getattr(getattr(exc, "error", None), "code", None)
    message = getattr(error, "message", None) or exc.message
    return str(code or f"http_{exc.status_code}"), str(message)[:1000]


def _version_info(details: Mapping[str, Any]) -> VersionInfo:
    definition = details.get("definition") or {}
    container = definition.get("container_configuration") or {}
    error = details.get("error") or {}
    created = details.get("created_at")
    identity = details.get("instance_identity") or {}
    return VersionInfo(
        version=str(details["version"]),
        status=str(details.get("status") or "active"),
        image=container.get("image") or definition.get("image"),
        metadata=dict(details.get("metadata") or {}),
        error_code=error.get("code"),
        error_message=error.get("message"),
        created_at=_epoch(created),
        principal_id=identity.get("principal_id") or None,
        draft=bool(details.get("draft")),
    )


def _traffic(details: Mapping[str, Any]) -> Traffic:
    endpoint = details.get("agent_endpoint") or {}
    selector = endpoint.get("version_selector") or {}
    rules = selector.get("version_selection_rules") or []
    return traffic_of((str(r["agent_version"]), int(r.get("traffic_percentage", 0))) for r in rules)


def _protocols(details: Mapping[str, Any]) -> frozenset[str] | None:
    endpoint = details.get("agent_endpoint") or {}
    configured = endpoint.get("protocol_configuration")
    if configured is None:
        return None
    return frozenset(name for name, value in configured.items() if value is not None)


def _epoch(value: object) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return None
