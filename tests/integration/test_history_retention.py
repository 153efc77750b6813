"""History retention through a dev host's ``prune_history`` timer, on its own table in Azurite:
rows past retention go with their keys, what a rollback or an open deployment relies on stays.
Old rows are written as the app writes them, with ids (inverted times) from months ago."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.data.tables import TableClient, TableServiceClient

from deployer.adapters.table_layout import KEY, KEY_END, RECORDS, RECORDS_BELOW
from deployer.adapters.table_store import TableDeploymentStore
from deployer.domain.clock import iso
from deployer.domain.model import (
    AgentState,
    Deployment,
    Status,
    Transition,
    deployment_time,
    new_deployment_id,
)
from deployer.domain.notifications import EntryState, NotificationEntry
from localdev.stack import Stack
from tests.integration.extra_hosts import extra_host
from tests.integration.invariants import wait_until

pytestmark = pytest.mark.integration
DAY_S = 86_400.0


@pytest.fixture(scope="module")
def site(stack: Stack) -> Iterator[tuple[str, TableClient]]:
    """A dev host on a table of its own, its timers left to the test."""
    assert stack.info is not None
    name = f"history{uuid.uuid4().hex[:8]}"
    service = TableServiceClient.from_connection_string(stack.info.table_connection_string)
    table = service.get_table_client(name)
    for url in extra_host(stack, "history-host", {"DEPLOYER_TABLE_NAME": name}, run_timers=False):
        yield url, table
    service.delete_table(name)


def plant(
    table: TableClient, days: float, status: Status, *, agent: str = "hello", served: bool = False
) -> str:
    """A record created ``days`` ago with its event key, written by the app's own adapter."""
    store, created = TableDeploymentStore(table), time.time() - days * DAY_S
    steps = ("pending", "creating", "active", status) if served else ("pending", status)
    record = Deployment(
        id=new_deployment_id(created),
        agent=agent,
        image="myregistry.azurecr.io/aci-helloworld:1.0.0",
        status=status,
        source="event",
        created_at=iso(created),
        updated_at=iso(created + 60),
        version="1" if served else None,
        version_deleted_at=iso(created + 120) if served else None,
        history=tuple(Transition(status=s, at=iso(created)) for s in steps),
    )
    store.add(record)
    store.claim(f"event|evt-{record.id}|{agent}", record.id)
    return record.id


def notification(table: TableClient, deployment_id: str, state: EntryState) -> str:
    at = deployment_time(deployment_id)
    entry = NotificationEntry(
        id=f"{deployment_id}.active.{state}",
        deployment_id=deployment_id,
        agent="hello",
        event_type="deployment.active",
        event_id=str(uuid.uuid4()),
        subscriber=state,
        channel="webhook",
        time=iso(at),
        data="{}",
        created_at=at,
        started_at=at,
        state=state,
    )
    TableDeploymentStore(table).add_notification(entry)
    return entry.id


def rows(table: TableClient, partition: str, first: str = "", end: str = "~") -> dict[str, dict[str, Any]]:
    """The rows of ``partition`` whose RowKey is in [first, end)."""
    query = "PartitionKey eq @pk and RowKey ge @first and RowKey lt @end"
    found = table.query_entities(query, parameters={"pk": partition, "first": first, "end": end})
    return {e["RowKey"]: dict(e) for e in found}


def records(table: TableClient) -> dict[str, dict[str, Any]]:
    return rows(table, RECORDS, end=RECORDS_BELOW)


def key_owners(table: TableClient) -> set[str]:
    return {e["owner"] for e in rows(table, RECORDS, KEY, KEY_END).values()}


def test_the_timer_deletes_rows_past_retention_with_their_keys_and_keeps_what_is_relied_on(
    site: tuple[str, TableClient],
) -> None:
    url, table = site
    failed, skipped = plant(table, 120, "failed"), plant(table, 95, "skipped")
    ignored_old, ignored_new = plant(table, 8, "ignored", agent=""), plant(table, 3, "ignored", agent="")
    recent = plant(table, 30, "failed")
    rollback_target = plant(table, 200, "superseded", served=True)
    active = plant(table, 300, "active", served=True)
    stuck = plant(table, 150, "creating")
    TableDeploymentStore(table).save_agent(AgentState(name="hello", active_id=active))
    delivered = notification(table, failed, "delivered")
    pending = notification(table, failed, "pending")
    keys_before = key_owners(table)

    answer = requests.post(f"{url}/admin/functions/prune_history", json={}, timeout=60)

    assert answer.status_code == 202, answer.text
    kept = {ignored_new, recent, rollback_target, active, stuck}
    assert wait_until(lambda: set(rows(table, "n")) == {pending}, timeout_s=30)  # notifications go last
    assert set(records(table)) == kept
    assert key_owners(table) == kept == keys_before - {failed, skipped, ignored_old}
    assert set(rows(table, "n")) == {pending} and delivered
    listed = requests.get(f"{url}/api/deployments?agent=hello&limit=50", timeout=30).json()["items"]
    assert {d["id"] for d in listed} == {recent, rollback_target, active, stuck}
