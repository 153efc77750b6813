"""Platform behaviours the deployer copes with, through the dev host on the stack's emulators: an
Invocations-only agent (its protocol enabled on the endpoint, the preview header sent), an
identity that appears after the version is up, and a project endpoint whose project does not
exist."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from deployer.cli.simulate import image_pushed_event
from localdev.stack import Stack
from tests.integration.selector_support import REGISTRY, project, push, wait_until

pytestmark = pytest.mark.integration
ENDED = {"active", "verified", "unhealthy", "failed", "timed_out"}


def ended(record: dict) -> bool:
    return record["status"] in ENDED


def test_an_invocations_agent_is_served_and_smoke_tested_on_its_protocol(http):
    record = wait_until(http, push(http, "invoke-bot", "1")["id"], ended)
    assert record["status"] == "verified", record.get("error") or record.get("smoke")
    assert record["smoke"]["status"] == "passed" and record["smoke"]["attempts"] == 1
    served = project(http).agents.get("invoke-bot")["agent_endpoint"]["protocol_configuration"]
    assert set(served) == {"responses", "invocations"}
    sent = [
        r
        for r in http.emulator("GET", "requests")["requests"]
        if r["path"].endswith("/agents/invoke-bot/endpoint/protocols/invocations")
    ]
    assert [r["headers"].get("Foundry-Features") for r in sent] == ["HostedAgents=V1Preview"]


def test_an_identity_reported_after_the_version_is_up_still_gets_its_runtime_role(http, emulator_settings):
    emulator_settings(identity_delay_s=3)
    try:
        started = push(http, "late-identity", "1")
        assert started["status"] == "creating"
        early = project(http).agents.get_version("late-identity", started["version"])
        record = wait_until(http, started["id"], ended)
    finally:
        emulator_settings(identity_delay_s=0)
    assert early.get("instance_identity") is None  # not reported when the version was created
    assert record["status"] == "active", record.get("error")
    identity = project(http).agents.get_version("late-identity", record["version"])["instance_identity"]
    grant = record["runtime_role"]
    assert (grant["status"], grant["principal_id"]) == ("granted", identity["principal_id"])


@pytest.fixture(scope="module")
def lost(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A dev host whose FOUNDRY_PROJECT_ENDPOINT names a project that does not exist: its URL
    and that endpoint."""
    assert stack.info is not None
    config = tmp_path_factory.mktemp("lost-project") / "deployer.yaml"
    config.write_text(
        f"registries: [{REGISTRY}]\ngrant_runtime_role: false\n"
        "agents:\n  - name: lost-bot\n    repository: agents/lost-bot\n"
    )
    endpoint = f"{stack.info.foundry_origin}/api/projects/no-such-project"
    env = {
        "DEPLOYER_CONFIG": str(config),
        "DEPLOYER_TABLE_NAME": f"l{uuid.uuid4().hex[:12]}",
        "FOUNDRY_PROJECT_ENDPOINT": endpoint,
    }
    try:
        yield stack.start_devhost("lost-project", port=0, env=env), endpoint
    finally:
        stack.stop_process("lost-project")


def test_a_project_that_does_not_exist_fails_the_push_naming_the_endpoint_and_health_says_which(http, lost):
    url, endpoint = lost
    assert http.deliver([image_pushed_event(f"{REGISTRY}/agents/lost-bot:1")], host=url) == 202
    status, page = http.request("GET", f"{url}/api/deployments?agent=lost-bot")
    [record] = page["items"]
    assert (record["status"], record["error"]["code"]) == ("failed", "ProjectNotFound")
    assert endpoint in record["error"]["message"] and "FOUNDRY_PROJECT_ENDPOINT" in record["error"]["hint"]
    status, health = http.request("GET", f"{url}/api/health")
    assert status == 503
    [foundry] = [c for c in health["checks"] if c["name"] == "foundry"]
    assert (foundry["target"], foundry["status"], foundry["error"]) == (
        endpoint,
        "not_found",
        "ProjectNotFound (HTTP 404)",
    )
