"""A missing table through the dev host: the app never creates its table (infra does; the app's
identity holds a table-scoped role), and a missing table answers 503 and fails health instead of
reading as "no rows" (not paused, no holds, nothing active). Once the table exists again, the same
host serves without a restart."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from azure.data.tables import TableServiceClient

from localdev.stack import Stack
from tests.integration.conftest import Http, fixture_json

HOST = "deployer-missing-table"


@dataclass
class Host:
    url: str
    table: str
    service: TableServiceClient

    def table_exists(self) -> bool:
        return any(t.name == self.table for t in self.service.list_tables())


@pytest.fixture(scope="module")
def host(stack: Stack) -> Iterator[Host]:
    assert stack.info is not None
    table = f"m{uuid.uuid4().hex[:12]}"
    env = {
        "DEPLOYER_TABLE_NAME": table,
        "FOUNDRY_PROJECT_ENDPOINT": f"{stack.info.foundry_origin}/api/projects/p{uuid.uuid4().hex[:8]}",
    }
    service = TableServiceClient.from_connection_string(stack.info.table_connection_string)
    try:
        url = stack.start_devhost(HOST, port=0, env=env, run_timers=False, create_table=False)
        yield Host(url=url, table=table, service=service)
    finally:
        stack.stop_process(HOST)
        service.delete_table(table)


def push(http: Http, host: Host) -> int:
    [event] = fixture_json("acr/imagepushed.eventgrid.json")
    event = copy.deepcopy(event)
    event["id"] = str(uuid.uuid4())
    event["data"]["target"]["digest"] = "sha256:" + uuid.uuid4().hex * 2
    url = f"{host.url}/runtime/webhooks/eventgrid?functionName=on_image_pushed"
    return http.request("POST", url, [event], {"aeg-event-type": "Notification"})[0]


@pytest.mark.parametrize("path", ["agents", "agents/hello/holds", "deployments", "notifications"])
def test_reads_without_the_table_answer_503_not_empty_data(http, host, path):
    status, problem = http.request("GET", f"{host.url}/api/{path}")
    assert status == 503 and problem["type"].endswith(":unavailable"), problem
    assert "TableNotFound" in problem["detail"]
    assert not host.table_exists()


def test_health_names_the_missing_table(http, host):
    status, report = http.request("GET", f"{host.url}/api/health")
    [table] = [c for c in report["checks"] if c["name"] == "table_storage"]
    assert status == 503 and (table["target"], table["error"]) == (host.table, "TableNotFound"), report


def test_writes_without_the_table_are_refused_and_the_app_does_not_create_it(http, host):
    status, problem = http.request("POST", f"{host.url}/api/agents/hello/pause", raw=b"")
    assert status == 503 and problem["type"].endswith(":unavailable"), problem
    assert push(http, host) == 500  # not acknowledged: Event Grid delivers it again later
    assert not host.table_exists()


def test_once_the_table_exists_the_same_host_serves_again(http, host):
    assert push(http, host) == 500
    host.service.create_table(host.table)
    assert push(http, host) == 202
    assert http.request("GET", f"{host.url}/api/health")[0] == 200
    status, agents = http.request("GET", f"{host.url}/api/agents")
    assert status == 200 and agents["items"], agents
