"""What a push costs in Table Storage requests, counted on the wire (the SDK's request hook)
against Azurite and the Foundry emulator, and the move of a table written in the first layout
(keys, agent rows and open work in partitions ``k``, ``a`` and ``o``) into the current one."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from azure.data.tables import TableClient, TableServiceClient

from deployer.adapters.credentials import StaticTokenCredential
from deployer.adapters.foundry import FoundryPlatform
from deployer.adapters.registry import AcrRegistry
from deployer.adapters.table_layout import RECORDS, agent_row, open_row
from deployer.adapters.table_store import TableDeploymentStore
from deployer.cli.simulate import image_pushed_event
from deployer.config.parser import parse_config
from deployer.context import Context
from deployer.deploy.start import handle_event
from deployer.domain.clock import SystemClock
from deployer.domain.errors import Conflict
from deployer.entrypoints.acr_events import parse_event
from localdev.acr_emulator.admin_client import RegistryAdmin
from localdev.stack import Stack
from tests.registry_seed import pushed_event

pytestmark = pytest.mark.integration
REGISTRY = "myregistry.azurecr.io"
CONFIG = {
    "registries": [REGISTRY],
    "grant_runtime_role": False,
    "agents": [{"name": "bot", "repository": "agents/bot", "tags": "*"}],
}


@dataclass
class Counted:
    ctx: Context
    table: TableClient
    requests: list[str]

    def push(self, tag: str, event: dict[str, Any] | None = None) -> Any:
        event = event or image_pushed_event(f"{REGISTRY}/agents/bot:{tag}")
        self.requests.clear()
        [record] = handle_event(self.ctx, parse_event(event))
        return record


@pytest.fixture
def counted(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counted]:
    assert stack.info is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", stack.info.foundry_ca_bundle)
    requests: list[str] = []
    service = TableServiceClient.from_connection_string(
        stack.info.table_connection_string, raw_request_hook=lambda r: requests.append(r.http_request.method)
    )
    name = f"t{uuid.uuid4().hex[:12]}"
    table = service.create_table(name)
    ctx = Context(
        config=parse_config(CONFIG, {}),
        store=TableDeploymentStore(table),
        platform=FoundryPlatform(StaticTokenCredential("test-token")),
        clock=SystemClock(),
        default_endpoint=f"{stack.info.foundry_origin}/api/projects/v{uuid.uuid4().hex[:8]}",
    )
    yield Counted(ctx, table, requests)
    service.delete_table(name)


def test_a_push_that_deploys_costs_three_table_requests_and_two_once_the_process_wrote_the_agent_row(
    counted: Counted,
) -> None:
    first = counted.push("1.0.0")  # the first push in a process also checks for the first layout
    assert first.status == "creating" and counted.requests[-3:] == ["GET", "POST", "PUT"]
    # The agent row read, one transaction before create_version, then the record's update; the
    # next push checks its rules against the row as the last push wrote it, without a read.
    record = counted.push("1.1.0")
    assert record.status == "creating" and counted.requests == ["POST", "PUT"]


def test_a_push_whose_agent_row_another_process_changed_writes_once_the_row_is_read(
    counted: Counted,
) -> None:
    counted.push("1.0.0")
    other = TableDeploymentStore(counted.table)  # another instance of the app
    other.save_agent(replace(other.get_agent("bot"), took_s=(42.0,)))
    record = counted.push("1.1.0")
    # The write against the row last seen fails (its ETag), the row is read, the write succeeds.
    assert record.status == "creating" and counted.requests == ["POST", "GET", "POST", "PUT"]
    assert record.expected_active_s == 42.0
    assert counted.ctx.store.get_agent("bot").took_s == (42.0,)


def test_a_push_after_the_first_of_a_repository_checks_its_image_with_one_registry_request(
    stack: Stack, counted: Counted
) -> None:
    assert stack.info is not None
    registry = AcrRegistry(StaticTokenCredential("test-token"), endpoint_base=stack.info.registry_endpoint)
    counted.ctx = replace(counted.ctx, registry=registry)
    log = RegistryAdmin(stack.info.registry_endpoint, stack.info.foundry_ca_bundle)
    sent = []
    for tag in (f"1.0.{uuid.uuid4().int % 1000}", f"2.0.{uuid.uuid4().int % 1000}"):
        event = pushed_event(f"{REGISTRY}/agents/bot:{tag}")
        since = time.time()  # the log keeps only the newest requests: found by time, not position
        assert counted.push("", event).status == "creating"
        sent.append([r["status"] for r in log.requests() if r["time"] >= since and _from_the_deployer(r)])
    # The first: unauthenticated, the token exchange (two requests), again with the token; then one.
    assert sent == [[401, 200, 200, 200], [200]]


def _from_the_deployer(logged: dict[str, Any]) -> bool:
    """A request the deployer's SDK sent (not the Foundry emulator's image pull)."""
    headers = {k.lower(): v for k, v in logged["headers"].items()}
    return "containerregistry" in str(headers.get("user-agent", ""))


def test_a_redelivered_push_returns_the_first_record_and_creates_nothing(counted: Counted) -> None:
    event = image_pushed_event(f"{REGISTRY}/agents/bot:1.0.0")
    first = counted.push("", event)
    again = counted.push("", event)
    assert again.id == first.id and again.status == "creating"
    records = counted.ctx.store.list(agent="bot").items
    assert [d.id for d in records] == [first.id]


def test_a_table_in_the_first_layout_is_moved_before_the_first_push_reads_it(
    stack: Stack, counted: Counted
) -> None:
    # The agent row of the first layout says the agent is paused: the push must be skipped.
    counted.table.create_entity({"PartitionKey": "a", "RowKey": "bot", "paused": True, "paused_by": "ops"})
    counted.table.create_entity(
        {"PartitionKey": "o", "RowKey": "0000000000001abcdef", "due": 5.0, "attempt": 0}
    )
    record = counted.push("1.0.0")
    assert (record.status, record.reason) == ("skipped", "paused")
    rows = {
        (e["PartitionKey"], e["RowKey"])
        for e in counted.table.list_entities(select=["PartitionKey", "RowKey"])
    }
    assert (RECORDS, agent_row("bot")) in rows and (RECORDS, open_row("0000000000001abcdef")) in rows
    assert not {p for p, _ in rows} & {"a", "o", "k"}
    assert [e.deployment_id for e in counted.ctx.store.due(10.0, 10)] == ["0000000000001abcdef"]


def test_a_push_whose_keys_exist_already_writes_nothing_at_once_and_is_decided_step_by_step(
    counted: Counted,
) -> None:
    store = counted.ctx.store
    assert isinstance(store, TableDeploymentStore)
    first = counted.push("1.0.0")
    stale = replace(first, id="0000000000002abcdef")
    before = {(e["PartitionKey"], e["RowKey"]) for e in counted.table.list_entities()}
    with pytest.raises(Conflict):
        store.begin(
            stale,
            replace(store.due(1e12, 1)[0], deployment_id=stale.id, etag=None),
            claims={f"event|{first.event_id}|bot": stale.id},
            agent=store.get_agent("bot"),
        )
    assert {(e["PartitionKey"], e["RowKey"]) for e in counted.table.list_entities()} == before
