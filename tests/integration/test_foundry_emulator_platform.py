"""Platform behaviours of the Foundry emulator, each with its setting, driven through the real
azure-ai-projects SDK (sources in ``docs/platform-contract.md``)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from azure.ai.projects import AIProjectClient
from azure.ai.projects.models import (
    AgentEndpointConfig,
    FixedRatioVersionSelectionRule,
    InvocationsProtocolConfiguration,
    ProtocolConfiguration,
    VersionSelectionRule,
    VersionSelector,
)
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

from localdev.foundry_emulator import EmulatorServer, start_emulator
from localdev.tls import LocalTLS
from tests.integration.foundry_support import PREVIEW_HEADER, Admin, hosted, raw_headers, wait_for_status

pytestmark = pytest.mark.integration

LATEST_RULE = {"type": "FixedRatio", "agent_version": "@latest", "traffic_percentage": 100}


def answering_version(project: AIProjectClient, agent: str) -> str:
    client = project.get_openai_client(agent_name=agent, max_retries=0)
    return str(client.responses.with_raw_response.create(input="hi").headers["x-ms-agent-version"])


def invoke(emulator: EmulatorServer, agent: str, headers: dict[str, str]) -> requests.Response:
    url = f"{emulator.project_endpoint('demo')}/agents/{agent}/endpoint/protocols/invocations"
    return requests.post(
        url, params={"api-version": "v1"}, headers={**raw_headers(), **headers}, json={"m": 1}, timeout=10
    )


def enable_invocations(project: AIProjectClient, agent: str) -> Any:
    configuration = ProtocolConfiguration(invocations=InvocationsProtocolConfiguration())
    return project.agents.update_details(
        agent_name=agent, agent_endpoint=AgentEndpointConfig(protocol_configuration=configuration)
    )


def invocations_agent(project: AIProjectClient, agent: str) -> None:
    definition = hosted().as_dict()
    definition["protocol_versions"] = [{"protocol": "invocations", "version": "1.0.0"}]
    project.agents.create_version(agent_name=agent, body={"definition": definition})
    wait_for_status(project, agent, "1", "active")


# -- the default selector and @latest ------------------------------------------------------------


def test_a_new_agent_routes_at_latest_to_the_newest_version_that_is_not_a_draft(
    admin: Admin, project: AIProjectClient
) -> None:
    project.agents.create_version(agent_name="fresh", definition=hosted())
    wait_for_status(project, "fresh", "1", "active")
    project.agents.create_version(agent_name="fresh", definition=hosted(), draft=True)
    wait_for_status(project, "fresh", "2", "active")

    selector = project.agents.get(agent_name="fresh")["agent_endpoint"]["version_selector"]
    with_draft = answering_version(project, "fresh")
    project.agents.create_version(agent_name="fresh", definition=hosted())
    wait_for_status(project, "fresh", "3", "active")

    assert selector == {"version_selection_rules": [LATEST_RULE]}
    assert with_draft == "1"
    assert answering_version(project, "fresh") == "3"


def test_at_latest_is_accepted_beside_a_numbered_version_in_rules(
    admin: Admin, project: AIProjectClient
) -> None:
    for _ in range(2):
        project.agents.create_version(agent_name="mixed", definition=hosted())
    wait_for_status(project, "mixed", "2", "active")
    rules: list[VersionSelectionRule] = [
        FixedRatioVersionSelectionRule(agent_version="@latest", traffic_percentage=50),
        FixedRatioVersionSelectionRule(agent_version="1", traffic_percentage=50),
    ]

    project.agents.update_details(
        agent_name="mixed",
        agent_endpoint=AgentEndpointConfig(version_selector=VersionSelector(version_selection_rules=rules)),
    )

    assert sorted(answering_version(project, "mixed") for _ in range(4)) == ["1", "1", "2", "2"]


def test_with_default_selector_none_a_new_agent_has_no_endpoint_configuration(
    admin: Admin, project: AIProjectClient
) -> None:
    admin.settings(default_selector="none")

    project.agents.create_version(agent_name="bare", definition=hosted())

    assert "agent_endpoint" not in project.agents.get(agent_name="bare")


# -- deleting a version with live sessions --------------------------------------------------------


def test_a_version_with_a_live_session_is_deleted_only_with_force(
    admin: Admin, project: AIProjectClient
) -> None:
    admin.settings(session_linger_s=600)
    for _ in range(2):
        project.agents.create_version(agent_name="busy", definition=hosted())
    wait_for_status(project, "busy", "2", "active")
    assert answering_version(project, "busy") == "2"

    with pytest.raises(ResourceExistsError) as refused:
        project.agents.delete_version(agent_name="busy", agent_version="2")
    idle = project.agents.delete_version(agent_name="busy", agent_version="1")
    forced = project.agents.delete_version(agent_name="busy", agent_version="2", force=True)

    assert refused.value.status_code == 409
    assert refused.value.error is not None and refused.value.error.code == "conflict"
    assert (idle.deleted, forced.deleted) == (True, True)
    deletes = [r["query"] for r in admin.requests("/agents/busy/versions/") if r["method"] == "DELETE"]
    assert deletes[-1] == {"force": "true", "api-version": "v1"}


def test_a_session_ends_after_the_linger_time(admin: Admin, project: AIProjectClient) -> None:
    admin.settings(session_linger_s=0.3)
    project.agents.create_version(agent_name="brief", definition=hosted())
    wait_for_status(project, "brief", "1", "active")
    answering_version(project, "brief")
    time.sleep(0.4)

    assert project.agents.delete_version(agent_name="brief", agent_version="1").deleted is True


# -- Invocations: the preview header and the endpoint's protocols -----------------------------------


def test_invocations_without_the_preview_header_get_403_preview_feature_required(
    admin: Admin, project: AIProjectClient, emulator: EmulatorServer
) -> None:
    invocations_agent(project, "gated")
    enable_invocations(project, "gated")

    refused = invoke(emulator, "gated", {})
    admin.settings(require_preview_header=False)
    allowed = invoke(emulator, "gated", {})

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "preview_feature_required"
    assert allowed.status_code == 200


def test_the_endpoint_serves_only_responses_until_protocol_configuration_adds_invocations(
    admin: Admin, project: AIProjectClient, emulator: EmulatorServer
) -> None:
    invocations_agent(project, "proto")

    before = invoke(emulator, "proto", PREVIEW_HEADER)
    updated = enable_invocations(project, "proto")
    after = invoke(emulator, "proto", PREVIEW_HEADER)

    assert before.status_code == 400
    assert before.json()["error"]["code"] == "protocol_not_enabled"
    assert updated["agent_endpoint"]["protocol_configuration"] == {"invocations": {}}
    assert after.status_code == 200


def test_with_enforce_protocols_off_the_versions_protocols_are_served(
    admin: Admin, project: AIProjectClient, emulator: EmulatorServer
) -> None:
    admin.settings(enforce_protocols=False)
    invocations_agent(project, "loose")

    assert invoke(emulator, "loose", PREVIEW_HEADER).status_code == 200


# -- projects and identities ---------------------------------------------------------------------


def test_an_unknown_project_is_404_resource_not_found(
    admin: Admin, trusted: LocalTLS, make_project: Any
) -> None:
    admin.settings(projects=["demo", "team-*"])

    with pytest.raises(ResourceNotFoundError) as missing:
        make_project("wrong").agents.get(agent_name="any")
    known = make_project("team-red").agents.create_version(agent_name="a", definition=hosted())

    assert missing.value.error is not None
    assert (missing.value.error.code, missing.value.error.message) == (
        "ResourceNotFound",
        "The project does not exist.",
    )
    assert known.version == "1"


def test_settings_given_at_start_are_what_reset_goes_back_to(tls: LocalTLS) -> None:
    with start_emulator(tls=tls, settings={"projects": ["only"], "default_selector": "none"}) as server:
        admin = Admin(server, tls)
        admin.settings(projects=None)
        admin.reset()

        assert (admin.settings()["projects"], admin.settings()["default_selector"]) == (["only"], "none")


def test_instance_identity_appears_on_a_new_version_after_the_identity_delay(
    admin: Admin, project: AIProjectClient
) -> None:
    admin.settings(identity_delay_s=0.5, provision_delay_s=0)
    created = project.agents.create_version(agent_name="who", definition=hosted())

    deadline = time.monotonic() + 20
    later = project.agents.get_version(agent_name="who", agent_version="1")
    while "instance_identity" not in later and time.monotonic() < deadline:
        time.sleep(0.05)
        later = project.agents.get_version(agent_name="who", agent_version="1")

    assert "instance_identity" not in created
    assert later["instance_identity"]["principal_id"]


def test_a_body_nested_a_thousand_deep_is_a_400(
    admin: Admin, emulator: EmulatorServer, trusted: LocalTLS
) -> None:
    url = f"{emulator.project_endpoint('demo')}/agents"
    body = "[" * 1000 + "]" * 1000

    reply = requests.post(
        url,
        params={"api-version": "v1"},
        headers={**raw_headers(), "Content-Type": "application/json"},
        data=body,
        timeout=10,
    )

    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "invalid_payload"


def test_a_bad_setting_is_a_400_that_changes_nothing(admin: Admin) -> None:
    before = admin.settings()
    reply = requests.put(
        f"{admin.url}/_emulator/settings",
        json={"default_selector": "oldest"},
        verify=admin.verify,
        timeout=10,
    )

    assert reply.status_code == 400
    assert admin.settings() == before
