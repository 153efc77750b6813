"""Builders for tests of the in-process Foundry emulator (its fixtures are in ``conftest``)."""

from __future__ import annotations

import time
from typing import Any

import requests
from azure.ai.projects import AIProjectClient
from azure.ai.projects.models import (
    AgentEndpointProtocol,
    ContainerConfiguration,
    HostedAgentDefinition,
    ProtocolVersionRecord,
)

from localdev.foundry_emulator import EmulatorServer
from localdev.tls import LocalTLS

IMAGE = "myregistry.azurecr.io/agents/echo:v1"
CA_ENV_VARS = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE")
PREVIEW_HEADER = {"Foundry-Features": "HostedAgents=V1Preview"}


class Admin:
    """Calls the admin API (test scaffolding: trusts the CA explicitly, unlike the SDK)."""

    def __init__(self, server: EmulatorServer, tls: LocalTLS) -> None:
        self.url = server.url
        self.verify = str(tls.ca_bundle)

    def settings(self, **values: Any) -> dict[str, Any]:
        reply = requests.put(f"{self.url}/_emulator/settings", json=values, verify=self.verify, timeout=10)
        reply.raise_for_status()
        settings: dict[str, Any] = reply.json()
        return settings

    def requests(self, path_contains: str = "") -> list[dict[str, Any]]:
        reply = requests.get(f"{self.url}/_emulator/requests", verify=self.verify, timeout=10)
        reply.raise_for_status()
        return [r for r in reply.json()["requests"] if path_contains in r["path"]]

    def force(self, project: str, agent: str, version: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.url}/_emulator/projects/{project}/agents/{agent}/versions/{version}/status"
        reply = requests.post(url, json=body, verify=self.verify, timeout=10)
        reply.raise_for_status()
        details: dict[str, Any] = reply.json()
        return details

    def reset(self) -> None:
        requests.post(f"{self.url}/_emulator/reset", verify=self.verify, timeout=10).raise_for_status()


def hosted(image: str = IMAGE) -> HostedAgentDefinition:
    return HostedAgentDefinition(
        cpu="1",
        memory="2Gi",
        container_configuration=ContainerConfiguration(image=image),
        protocol_versions=[ProtocolVersionRecord(protocol=AgentEndpointProtocol.RESPONSES, version="1.0.0")],
        environment_variables={"MODEL_DEPLOYMENT_NAME": "gpt-5-mini"},
    )


def wait_for_status(project: AIProjectClient, agent: str, version: str, wanted: str) -> Any:
    """Poll like the guide does; the deadline is only a safety net, never asserted."""
    deadline = time.monotonic() + 20
    while True:
        details = project.agents.get_version(agent_name=agent, agent_version=version)
        if details.status == wanted or time.monotonic() > deadline:
            return details
        time.sleep(0.05)


def raw_headers(token: str | None = "test-token") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
