"""The runtime-role grant with the real adapters: Table Storage on Azurite, Foundry on its
emulator, role assignments through azure-mgmt-authorization on the ARM emulator."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient

from deployer.adapters.arm_roles import AzureRoleAssignments
from deployer.adapters.credentials import StaticTokenCredential
from deployer.adapters.foundry import FoundryPlatform
from deployer.adapters.table_store import TableDeploymentStore
from deployer.cli.simulate import image_pushed_event
from deployer.config.parser import parse_config
from deployer.context import Context
from deployer.deploy.poll import poll_once
from deployer.deploy.start import handle_event
from deployer.entrypoints.acr_events import parse_event
from localdev.arm_emulator import start_arm_emulator
from localdev.tls import ensure_local_tls
from tests.registry_seed import pushed_event

pytestmark = pytest.mark.integration
PROJECT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg/providers/"
    "Microsoft.CognitiveServices/accounts/foundry/projects/it"
)
CONFIG = {
    "registries": ["myregistry.azurecr.io"],
    "project_resource_id": PROJECT_ID,
    "agents": [
        {"name": "fan-a", "repository": "agents/shared"},
        {"name": "fan-b", "repository": "agents/shared"},
        {"name": "solo", "repository": "agents/solo"},
        {"name": "quiet", "repository": "agents/quiet", "grant_runtime_role": False},
    ],
}


class SteppedClock:
    """The system time plus an offset the test moves on, so that polls come due at once."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset


@pytest.fixture(scope="module")
def arm(stack):
    with start_arm_emulator(tls=ensure_local_tls(Path(stack.info.foundry_ca_bundle).parent)) as server:
        yield server


@pytest.fixture
def ctx(stack, http, arm, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", stack.info.foundry_ca_bundle)
    arm.state.reset()
    service = TableServiceClient.from_connection_string(stack.info.table_connection_string)
    credential = StaticTokenCredential("test-token")
    return Context(
        config=parse_config(CONFIG, {}),
        store=TableDeploymentStore(service.create_table(f"t{uuid.uuid4().hex[:12]}")),
        platform=FoundryPlatform(credential),
        clock=SteppedClock(),
        default_endpoint=f"{stack.info.foundry_origin}/api/projects/p{uuid.uuid4().hex[:8]}",
        roles=AzureRoleAssignments(credential, endpoint=arm.url, retry_total=0),
    )


def push(ctx, repository, tag, *, times=1):
    event = parse_event(pushed_event(f"myregistry.azurecr.io/{repository}:{tag}"))
    first = handle_event(ctx, event)
    for _ in range(times - 1):
        assert handle_event(ctx, event) == first  # a redelivery returns the first records
    return first


def settle(ctx, *, rounds=20):
    """Poll, 30 s of deployer time a round, until nothing is open."""
    for _ in range(rounds):
        ctx.clock.offset += 30
        poll_once(ctx, concurrency=4, budget_s=20)
        if not ctx.store.due(ctx.clock.now() + 3600, 1):
            return
        time.sleep(0.3)  # the emulator provisions in real time


def puts(arm, principal=None):
    return [
        r
        for r in arm.state.requests()
        if r["method"] == "PUT" and (principal is None or r["body"]["properties"]["principalId"] == principal)
    ]


def test_each_new_identity_is_granted_exactly_once_with_duplicate_deliveries_and_two_pollers(ctx, arm):
    records = [*push(ctx, "agents/shared", "1.0.0", times=3), *push(ctx, "agents/solo", "1.0.0", times=3)]
    assert sorted(r.agent for r in records) == ["fan-a", "fan-b", "solo"]
    loops = [threading.Thread(target=settle, args=(ctx,)) for _ in range(2)]
    for loop in loops:
        loop.start()
    for loop in loops:
        loop.join()
    done = [ctx.store.get(r.id) for r in records]
    assert [d.status for d in done] == ["active"] * 3
    assert {d.runtime_role.status for d in done} == {"granted"}
    principals = {d.runtime_role.principal_id for d in done}
    assert len(principals) == 3
    assert sorted(r["body"]["properties"]["principalId"] for r in puts(arm)) == sorted(principals)
    assert {r["status"] for r in puts(arm)} == {201}
    assert {a["properties"]["scope"] for a in arm.state.assignments()} == {PROJECT_ID}


def test_a_principal_not_found_twice_is_granted_on_the_third_try(ctx, arm):
    arm.state.update_settings({"principal_not_found": 2})
    [record] = push(ctx, "agents/solo", "2.0.0")
    settle(ctx)
    done = ctx.store.get(record.id)
    assert (
        done.status == "active" and done.runtime_role.status == "granted" and done.runtime_role.attempts == 3
    )
    assert [r["status"] for r in puts(arm, done.runtime_role.principal_id)] == [400, 400, 201]


def test_a_forbidden_deployer_ends_failed_with_runtime_role_failed_and_the_hint(ctx, arm):
    arm.state.update_settings({"forbidden": True})
    [record] = push(ctx, "agents/solo", "3.0.0")
    settle(ctx)
    failed = ctx.store.get(record.id)
    assert failed.status == "failed" and failed.error.code == "runtime_role_failed"
    assert "AuthorizationFailed" in failed.error.message
    assert "Azure AI Project Manager" in failed.error.hint
    assert failed.to_json()["runtime_role"]["status"] == "failed"
    assert len(puts(arm)) == 1 and ctx.store.get_agent("solo").active_id is None


def test_grant_runtime_role_false_skips_the_step_and_records_that_it_did(ctx, arm):
    [record] = push(ctx, "agents/quiet", "1.0.0")
    settle(ctx)
    done = ctx.store.get(record.id)
    assert done.status == "active" and done.to_json()["runtime_role"]["status"] == "skipped"
    assert arm.state.requests() == []


def test_a_push_through_the_dev_host_is_active_with_its_identity_granted(http, stack):
    tag = f"v-rr-{uuid.uuid4().hex[:6]}"
    event = image_pushed_event(f"demo.azurecr.io/aci-helloworld:{tag}")
    assert http.deliver([event]) == 202
    [record] = http.records_for(event["id"])
    done = http.wait_for(record["id"], {"active", "failed"})
    assert done["status"] == "active", done
    role = done["runtime_role"]
    assert role["status"] in ("granted", "already_present") and role["principal_id"]
    _, log = http.request("GET", f"{stack.info.arm_endpoint}/_emulator/requests")
    assert any(r["body"]["properties"]["principalId"] == role["principal_id"] for r in log["requests"])


def check(config):
    command = [sys.executable, "-m", "deployer", "config", "check", str(config)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_config_check_refuses_a_missing_project_resource_id_while_the_grant_is_on(tmp_path):
    config = tmp_path / "deployer.yaml"
    config.write_text("registries: [r.azurecr.io]\nagents:\n  - {name: bot, repository: agents/bot}\n")
    result = check(config)
    assert result.returncode == 1
    assert "agents[0].project_resource_id: required while grant_runtime_role is on" in result.stderr
    assert "az resource show" in result.stderr
    config.write_text(config.read_text().replace("agents/bot}", "agents/bot, grant_runtime_role: false}"))
    ok = check(config)
    assert ok.returncode == 0, ok.stderr
