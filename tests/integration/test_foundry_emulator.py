"""The Foundry Agent Service emulator driven through real HTTPS by the real azure-ai-projects SDK.

Trust in the emulator's local CA comes only from the standard settings: ``REQUESTS_CA_BUNDLE``
(azure-core's requests transport) and ``SSL_CERT_FILE`` (httpx, used by the OpenAI client).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
import requests
from azure.ai.projects import AIProjectClient
from azure.ai.projects.models import (
    AgentEndpointConfig,
    FixedRatioVersionSelectionRule,
    HostedAgentDefinition,
    InvocationsProtocolConfiguration,
    ProtocolConfiguration,
    VersionSelectionRule,
    VersionSelector,
)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError

from localdev.acr_emulator import start_registry
from localdev.foundry_emulator import EmulatorServer
from localdev.tls import LocalTLS, ensure_local_tls
from tests.integration.foundry_support import (
    CA_ENV_VARS,
    IMAGE,
    PREVIEW_HEADER,
    Admin,
    hosted,
    raw_headers,
    wait_for_status,
)
from tests.registry_seed import seed

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


# -- trust through standard settings --------------------------------------------------------------


def test_sdk_trusts_emulator_only_through_requests_ca_bundle(
    admin: Admin, monkeypatch: pytest.MonkeyPatch, tls: LocalTLS, make_project: Callable[..., AIProjectClient]
) -> None:
    for name in CA_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ServiceRequestError):
        make_project(retry_total=0).agents.get(agent_name="anything")

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_bundle))
    with pytest.raises(ResourceNotFoundError):
        make_project(retry_total=0).agents.get(agent_name="anything")


def test_openai_client_trusts_emulator_through_ssl_cert_file(
    admin: Admin, monkeypatch: pytest.MonkeyPatch, tls: LocalTLS, make_project: Callable[..., AIProjectClient]
) -> None:
    for name in CA_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_bundle))
    untrusting = make_project().get_openai_client(agent_name="absent", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        untrusting.responses.create(input="hello")

    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_bundle))
    trusting = make_project().get_openai_client(agent_name="absent", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        trusting.responses.create(input="hello")


# -- agents and versions --------------------------------------------------------------------------


def test_create_version_creates_agent_and_sdk_sends_foundry_features(
    admin: Admin, project: AIProjectClient
) -> None:
    created = project.agents.create_version(
        agent_name="echo", definition=hosted(), metadata={"deployment_id": "dep-1"}
    )

    assert (created.name, created.version, created.status) == ("echo", "1", "creating")
    assert created.metadata == {"deployment_id": "dep-1"}
    assert created.definition.as_dict() == hosted().as_dict()
    identity = project.agents.get(agent_name="echo")["instance_identity"]
    assert created["instance_identity"] == identity
    assert project.agents.get(agent_name="echo").versions.latest.version == "1"
    (post,) = [r for r in admin.requests("/agents/echo/versions") if r["method"] == "POST"]
    assert "Foundry-Features" in post["headers"]
    assert post["headers"]["Authorization"] == "Bearer ***"
    assert post["query"] == {"api-version": "v1"}


def test_version_is_creating_until_provision_delay_then_active(
    admin: Admin, project: AIProjectClient
) -> None:
    first = project.agents.create_version(agent_name="slow", definition=hosted())
    second = project.agents.create_version(agent_name="slow", definition=hosted())

    assert (first.version, second.version) == ("1", "2")
    assert first.status == "creating"
    assert wait_for_status(project, "slow", "1", "active").status == "active"
    assert wait_for_status(project, "slow", "2", "active").status == "active"


def test_get_list_and_delete_agent(admin: Admin, project: AIProjectClient) -> None:
    project.agents.create_version(agent_name="alpha", definition=hosted())
    project.agents.create_version(agent_name="beta", definition=hosted())

    assert sorted(agent.name for agent in project.agents.list()) == ["alpha", "beta"]
    deleted = project.agents.delete(agent_name="alpha")

    assert (deleted.name, deleted.deleted) == ("alpha", True)
    with pytest.raises(ResourceNotFoundError):
        project.agents.get(agent_name="alpha")
    assert [agent.name for agent in project.agents.list()] == ["beta"]


def test_list_versions_pages_with_limit_and_order(admin: Admin, project: AIProjectClient) -> None:
    for _ in range(5):
        project.agents.create_version(agent_name="paged", definition=hosted())

    newest_first = [v.version for v in project.agents.list_versions(agent_name="paged", limit=2)]
    oldest_first = [v.version for v in project.agents.list_versions(agent_name="paged", limit=2, order="asc")]

    assert newest_first == ["5", "4", "3", "2", "1"]
    assert oldest_first == ["1", "2", "3", "4", "5"]
    lists = [r["query"] for r in admin.requests("/agents/paged/versions") if r["method"] == "GET"]
    desc_pages = [query for query in lists if query.get("order") != "asc"]
    assert [q.get("after") for q in desc_pages] == [None, "paged:4", "paged:2", "paged:1"]
    assert all(q["limit"] == "2" for q in desc_pages)


def test_list_versions_reply_carries_cursor_fields(
    admin: Admin, project: AIProjectClient, emulator: EmulatorServer
) -> None:
    for _ in range(3):
        project.agents.create_version(agent_name="cursor", definition=hosted())
    url = f"{emulator.project_endpoint('demo')}/agents/cursor/versions"

    page = requests.get(
        url, params={"api-version": "v1", "limit": "2"}, headers=raw_headers(), timeout=10
    ).json()

    assert page["object"] == "list"
    assert [v["version"] for v in page["data"]] == ["3", "2"]
    assert (page["first_id"], page["last_id"], page["has_more"]) == ("cursor:3", "cursor:2", True)


def test_deleted_version_is_deleting_then_gone(admin: Admin, project: AIProjectClient) -> None:
    project.agents.create_version(agent_name="shrink", definition=hosted())
    project.agents.create_version(agent_name="shrink", definition=hosted())

    reply = project.agents.delete_version(agent_name="shrink", agent_version="1")

    assert (reply.name, reply.version, reply.deleted) == ("shrink", "1", True)
    assert project.agents.get_version(agent_name="shrink", agent_version="1").status == "deleting"
    deadline = time.monotonic() + 20
    while [v.version for v in project.agents.list_versions(agent_name="shrink")] != ["2"]:
        assert time.monotonic() < deadline, "version 1 never left the list"
        time.sleep(0.05)
    with pytest.raises(ResourceNotFoundError):
        project.agents.get_version(agent_name="shrink", agent_version="1")


# -- provisioning outcomes ------------------------------------------------------------------------


def test_an_image_its_registry_does_not_hold_ends_failed_with_acr_image_not_found(
    admin: Admin, project: AIProjectClient, tls: LocalTLS
) -> None:
    held, missing = "myregistry.azurecr.io/agents/ghost:v1", "myregistry.azurecr.io/agents/ghost:v9"
    with start_registry(tls=tls) as registry:
        seed(registry.url, str(tls.ca_bundle), held)
        admin.settings(registry_endpoint=registry.url)

        project.agents.create_version(agent_name="ghost", definition=hosted(missing))
        project.agents.create_version(agent_name="ghost", definition=hosted(held))
        failed = wait_for_status(project, "ghost", "1", "failed")
        pulled = wait_for_status(project, "ghost", "2", "active")
        asked = [
            (r["method"], r["path"], r["status"]) for r in registry.state.requests() if r["method"] == "HEAD"
        ]

    assert failed["error"]["code"] == "AcrImageNotFound"
    assert missing in failed["error"]["message"]
    assert pulled.status == "active"
    assert asked == [
        ("HEAD", "/myregistry.azurecr.io/v2/agents/ghost/manifests/v9", 404),
        ("HEAD", "/myregistry.azurecr.io/v2/agents/ghost/manifests/v1", 200),
    ]


@pytest.mark.parametrize("code", ["UnauthorizedAcrPull", "image_pull_failed"])
def test_failing_image_ends_failed_with_configured_code(
    admin: Admin, project: AIProjectClient, code: str
) -> None:
    admin.settings(failing_images={IMAGE: code})

    project.agents.create_version(agent_name="denied", definition=hosted())

    assert wait_for_status(project, "denied", "1", "failed")["error"]["code"] == code


def test_admin_status_flip_forces_failed_then_active(admin: Admin, project: AIProjectClient) -> None:
    admin.settings(provision_delay_s=None)
    project.agents.create_version(agent_name="flip", definition=hosted())

    admin.force(
        "demo", "flip", "1", {"status": "failed", "error": {"code": "RegistryNotFound", "message": "m"}}
    )
    failed = project.agents.get_version(agent_name="flip", agent_version="1")
    admin.force("demo", "flip", "1", {"status": "active"})
    active = project.agents.get_version(agent_name="flip", agent_version="1")

    assert (failed.status, failed["error"]["code"]) == ("failed", "RegistryNotFound")
    assert active.status == "active"
    assert "error" not in active


# -- request validation ---------------------------------------------------------------------------


def test_request_without_bearer_token_gets_401(
    admin: Admin, emulator: EmulatorServer, trusted: LocalTLS
) -> None:
    url = f"{emulator.project_endpoint('demo')}/agents"

    reply = requests.get(url, params={"api-version": "v1"}, timeout=10)

    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "Unauthorized"
    assert reply.headers["WWW-Authenticate"] == "Bearer"


def test_request_without_api_version_gets_400(
    admin: Admin, emulator: EmulatorServer, trusted: LocalTLS
) -> None:
    reply = requests.get(f"{emulator.project_endpoint('demo')}/agents", headers=raw_headers(), timeout=10)

    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "MissingApiVersionParameter"


def test_rest_shaped_definition_is_accepted(
    admin: Admin, project: AIProjectClient, emulator: EmulatorServer
) -> None:
    rest_definition: dict[str, Any] = {
        "kind": "hosted",
        "image": IMAGE,
        "cpu": "1",
        "memory": "2Gi",
        "container_protocol_versions": [{"protocol": "responses", "version": "1.0.0"}],
    }
    url = f"{emulator.project_endpoint('demo')}/agents"

    reply = requests.post(
        url,
        params={"api-version": "v1"},
        headers=raw_headers(),
        json={"name": "rest-agent", "definition": rest_definition},
        timeout=10,
    )
    second = project.agents.create_version(agent_name="rest-agent", body={"definition": rest_definition})

    assert reply.status_code == 200
    assert reply.json()["object"] == "agent"
    assert reply.json()["versions"]["latest"]["definition"] == rest_definition
    assert second.version == "2"
    assert project.agents.get_version(agent_name="rest-agent", agent_version="1").definition["image"] == IMAGE


def test_definition_without_image_gets_400(admin: Admin, project: AIProjectClient) -> None:
    with pytest.raises(HttpResponseError) as raised:
        project.agents.create_version(
            agent_name="no-image", definition=HostedAgentDefinition(cpu="1", memory="2Gi")
        )

    assert raised.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        project.agents.get(agent_name="no-image")


@pytest.mark.parametrize("name", ["bad_name", "-leading", "trailing-", "x" * 64])
def test_invalid_agent_name_gets_400(admin: Admin, project: AIProjectClient, name: str) -> None:
    with pytest.raises(HttpResponseError) as raised:
        project.agents.create_version(agent_name=name, definition=hosted())

    assert raised.value.status_code == 400
    assert "agent name" in str(raised.value)


def test_longest_valid_agent_name_is_accepted(admin: Admin, project: AIProjectClient) -> None:
    name = "a" + "-" * 61 + "z"

    assert project.agents.create_version(agent_name=name, definition=hosted()).name == name


# -- faults ---------------------------------------------------------------------------------------


def test_injected_429_is_retried_by_sdk_pipeline_until_success(
    admin: Admin, project: AIProjectClient
) -> None:
    project.agents.create_version(agent_name="throttled", definition=hosted())
    admin.settings(
        faults=[
            {"method": "GET", "path": r"/agents/throttled$", "status": 429, "count": 2, "retry_after_s": 1}
        ]
    )

    agent = project.agents.get(agent_name="throttled")

    assert agent.name == "throttled"
    assert len([r for r in admin.requests("/agents/throttled") if r["method"] == "GET"]) == 3
    assert admin.settings()["faults"][0]["count"] == 0


def test_injected_fault_answers_azure_shaped_error_with_retry_after(
    admin: Admin, emulator: EmulatorServer, trusted: LocalTLS
) -> None:
    admin.settings(faults=[{"path": "/agents$", "status": 503, "count": 1, "retry_after_s": 2}])
    url = f"{emulator.project_endpoint('demo')}/agents"

    first = requests.get(url, params={"api-version": "v1"}, headers=raw_headers(), timeout=10)
    second = requests.get(url, params={"api-version": "v1"}, headers=raw_headers(), timeout=10)

    assert (first.status_code, first.headers["Retry-After"]) == (503, "2")
    assert first.json()["error"]["code"] == "ServiceUnavailable"
    assert second.status_code == 200


# -- agent endpoint -------------------------------------------------------------------------------


def test_responses_endpoint_answers_through_openai_client(admin: Admin, project: AIProjectClient) -> None:
    project.agents.create_version(agent_name="chat", definition=hosted())
    client = project.get_openai_client(agent_name="chat", max_retries=0)
    with pytest.raises(openai.ConflictError):
        client.responses.create(input="too early")
    wait_for_status(project, "chat", "1", "active")

    response = client.responses.create(input="Where is Seattle?")

    assert response.status == "completed"
    assert response.output_text == "Agent 'chat' (version 1) received: Where is Seattle?"
    sent = admin.requests("/agents/chat/endpoint")[-1]
    assert sent["path"] == "/api/projects/demo/agents/chat/endpoint/protocols/openai/responses"
    assert sent["query"] == {"api-version": "v1"}
    assert "foundry-features" in {name.lower() for name in sent["headers"]}


def test_without_a_selector_responses_serve_the_latest_active_version(
    admin: Admin, project: AIProjectClient
) -> None:
    admin.settings(default_selector="none")
    project.agents.create_version(agent_name="latest", definition=hosted())
    wait_for_status(project, "latest", "1", "active")
    admin.settings(provision_delay_s=None)
    project.agents.create_version(agent_name="latest", definition=hosted())
    client = project.get_openai_client(agent_name="latest")

    assert "(version 1)" in client.responses.create(input="hi").output_text
    admin.force("demo", "latest", "2", {"status": "active"})
    assert "(version 2)" in client.responses.create(input="hi").output_text


def test_version_selector_is_stored_and_routes_responses(admin: Admin, project: AIProjectClient) -> None:
    for _ in range(2):
        project.agents.create_version(agent_name="split", definition=hosted())
    wait_for_status(project, "split", "2", "active")
    rules: list[VersionSelectionRule] = [
        FixedRatioVersionSelectionRule(agent_version="1", traffic_percentage=75),
        FixedRatioVersionSelectionRule(agent_version="2", traffic_percentage=25),
    ]

    updated = project.agents.update_details(
        agent_name="split",
        agent_endpoint=AgentEndpointConfig(version_selector=VersionSelector(version_selection_rules=rules)),
    )
    client = project.get_openai_client(agent_name="split")
    served = [
        client.responses.with_raw_response.create(input="hi").headers["x-ms-agent-version"] for _ in range(8)
    ]

    stored = project.agents.get(agent_name="split")["agent_endpoint"]["version_selector"]
    assert updated["agent_endpoint"]["version_selector"] == stored
    rules_stored = [
        (rule["agent_version"], rule["traffic_percentage"]) for rule in stored["version_selection_rules"]
    ]
    assert rules_stored == [("1", 75), ("2", 25)]
    assert (served.count("1"), served.count("2")) == (6, 2)


def test_agent_reference_pins_the_serving_version(admin: Admin, project: AIProjectClient) -> None:
    for _ in range(2):
        project.agents.create_version(agent_name="pinned", definition=hosted())
    wait_for_status(project, "pinned", "2", "active")
    client = project.get_openai_client(agent_name="pinned")

    response = client.responses.create(
        input="hi",
        extra_body={"agent_reference": {"type": "agent_reference", "name": "pinned", "version": "1"}},
    )

    assert "(version 1)" in response.output_text


def test_invocations_endpoint_replies_with_json(
    admin: Admin, project: AIProjectClient, emulator: EmulatorServer
) -> None:
    definition = hosted().as_dict()
    definition["protocol_versions"] = [{"protocol": "invocations", "version": "1.0.0"}]
    project.agents.create_version(agent_name="worker", body={"definition": definition})
    project.agents.update_details(
        agent_name="worker",
        agent_endpoint=AgentEndpointConfig(
            protocol_configuration=ProtocolConfiguration(invocations=InvocationsProtocolConfiguration())
        ),
    )
    wait_for_status(project, "worker", "1", "active")
    url = f"{emulator.project_endpoint('demo')}/agents/worker/endpoint/protocols/invocations"

    reply = requests.post(
        url,
        params={"api-version": "v1"},
        headers={**raw_headers(), **PREVIEW_HEADER},
        json={"message": "Process this task"},
        timeout=10,
    )

    assert reply.status_code == 200
    assert reply.json()["agent"] == {"name": "worker", "version": "1"}
    assert reply.json()["received"] == {"message": "Process this task"}


# -- admin ----------------------------------------------------------------------------------------


def test_reset_clears_agents_settings_and_request_log(admin: Admin, project: AIProjectClient) -> None:
    admin.settings(failing_images={IMAGE: "UnauthorizedAcrPull"})
    project.agents.create_version(agent_name="temporary", definition=hosted())

    admin.reset()

    assert admin.requests() == []
    assert admin.settings()["failing_images"] == {}
    with pytest.raises(ResourceNotFoundError):
        project.agents.get(agent_name="temporary")


def test_projects_under_one_origin_are_independent(
    admin: Admin, trusted: LocalTLS, make_project: Callable[..., AIProjectClient]
) -> None:
    red, blue = make_project("red"), make_project("blue")

    red.agents.create_version(agent_name="shared-name", definition=hosted())
    blue.agents.create_version(agent_name="shared-name", definition=hosted())
    blue.agents.create_version(agent_name="shared-name", definition=hosted())

    assert red.agents.get(agent_name="shared-name").versions.latest.version == "1"
    assert blue.agents.get(agent_name="shared-name").versions.latest.version == "2"
    red.agents.delete(agent_name="shared-name")
    assert blue.agents.get(agent_name="shared-name").name == "shared-name"


# -- command line ---------------------------------------------------------------------------------


def test_cli_prints_ready_line_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "localdev.foundry_emulator", "--port", "0", "--tls-dir", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        origin = line.removeprefix("READY ")
        reply = requests.get(f"{origin}/_emulator/settings", verify=str(tmp_path / "ca.pem"), timeout=10)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()

    assert line.startswith("READY https://127.0.0.1:")
    assert reply.json()["provision_delay_s"] == 0.5
    assert process.stdout.read() == ""


# -- local TLS ------------------------------------------------------------------------------------


def test_local_tls_is_reused_and_valid_for_localhost(
    admin: Admin, emulator: EmulatorServer, tls: LocalTLS
) -> None:
    again = ensure_local_tls(tls.ca_bundle.parent)
    origin = emulator.url.replace("127.0.0.1", "localhost")

    reply = requests.get(f"{origin}/_emulator/settings", verify=str(tls.ca_bundle), timeout=10)

    assert again == tls
    assert again.ca_bundle.read_bytes() == tls.ca_bundle.read_bytes()
    assert reply.status_code == 200
