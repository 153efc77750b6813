"""The Table adapter's writes that must hold under concurrency, against Azurite: two records
replaced in one entity-group transaction, and an open-work row that a path which does not own
the deployment may only move earlier."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from azure.data.tables import TableClient, TableServiceClient

from deployer.adapters.table_batches import TRANSACTION_ROWS
from deployer.adapters.table_layout import key_row
from deployer.adapters.table_store import TableDeploymentStore
from deployer.domain.errors import Conflict
from deployer.domain.model import AgentState, Deployment, Status, new_deployment_id
from deployer.domain.platform import Scheduled
from localdev.stack import Stack

pytestmark = pytest.mark.integration
AT = "2026-11-29T12:00:00.000Z"


@pytest.fixture
def store(stack: Stack) -> Iterator[TableDeploymentStore]:
    assert stack.info is not None
    service = TableServiceClient.from_connection_string(stack.info.table_connection_string)
    name = f"t{uuid.uuid4().hex[:12]}"
    yield TableDeploymentStore(service.create_table(name))
    service.delete_table(name)


def record(deployment_id: str, status: Status = "active") -> Deployment:
    return Deployment(
        id=deployment_id,
        agent="bot",
        image="r/i:1",
        status=status,
        source="event",
        created_at=AT,
        updated_at=AT,
    )


def test_two_records_replaced_together_change_both_or_neither(store: TableDeploymentStore) -> None:
    old, new = store.add(record("b")), store.add(record("a", "creating"))
    both = store.update_together([new.moved_to("active", AT), old.moved_to("superseded", AT)])
    assert [(d.id, d.status) for d in both] == [("a", "active"), ("b", "superseded")]
    assert all(d.etag for d in both) and both[0].etag != new.etag

    stale = replace(both[0], etag=new.etag)  # changed since it was read
    with pytest.raises(Conflict):
        store.update_together([stale.moved_to("failed", AT), both[1].moved_to("failed", AT)])
    assert [store.get(i).status for i in ("a", "b")] == ["active", "superseded"]  # type: ignore[union-attr]


def test_schedule_by_inserts_or_moves_earlier_never_later(store: TableDeploymentStore) -> None:
    store.schedule_by(Scheduled(deployment_id="a", due=100.0))
    store.schedule_by(Scheduled(deployment_id="a", due=220.0))  # later: left alone
    assert [(e.deployment_id, e.due) for e in store.due(1000.0, 10)] == [("a", 100.0)]
    store.schedule(Scheduled(deployment_id="a", due=500.0, attempt=3))  # the owner may put it off
    store.schedule_by(Scheduled(deployment_id="a", due=102.0))  # earlier: moved, attempt kept
    assert [(e.due, e.attempt) for e in store.due(1000.0, 10)] == [(102.0, 3)]


def test_scheduled_reads_one_entry_with_the_etag_its_conditional_write_needs(
    store: TableDeploymentStore,
) -> None:
    assert store.scheduled("a") is None
    written = store.schedule(Scheduled(deployment_id="a", due=100.0, attempt=2))
    found = store.scheduled("a")
    assert found is not None and (found.due, found.attempt, found.etag) == (100.0, 2, written.etag)
    store.schedule(replace(found, due=160.0))  # taken by another worker
    with pytest.raises(Conflict):
        store.schedule(replace(found, due=130.0))


def aged(days: float, status: Status = "superseded") -> Deployment:
    """A record created ``days`` ago (its id says when)."""
    return record(new_deployment_id(time.time() - days * 86_400), status)


def test_created_before_reads_only_records_older_than_the_cutoff(store: TableDeploymentStore) -> None:
    old, ignored, new = (store.add(aged(100)), store.add(aged(10, "ignored")), store.add(aged(1)))
    # The other rows of the records' partition sort after every record: never taken for one.
    store.save_agent(AgentState(name="bot", active_id=old.id))
    store.claim("event|e1|bot", old.id)
    store.schedule(Scheduled(deployment_id=new.id, due=100.0))

    assert [d.id for d in store.created_before(time.time() - 50 * 86_400, limit=10)] == [old.id]
    week = time.time() - 7 * 86_400
    assert [d.id for d in store.created_before(week, statuses=("ignored", "refused"), limit=10)] == [
        ignored.id
    ]
    assert {d.id for d in store.created_before(week, limit=10)} == {old.id, ignored.id} and new.id


def test_forget_deletes_in_transactions_and_keeps_a_record_changed_since_it_was_read(
    store: TableDeploymentStore,
) -> None:
    read = [store.add(aged(100 + n / 1000)) for n in range(TRANSACTION_ROWS + 20)]
    changed = store.update(read[5].moved_to("superseded", AT, reason="noted meanwhile"))

    gone = store.forget(read, {})

    assert set(gone) == {d.id for d in read} - {changed.id}
    assert [d.id for d in store.created_before(time.time(), limit=500)] == [changed.id]


def test_keys_are_found_by_owner_and_forgotten_with_their_record(store: TableDeploymentStore) -> None:
    first, second = store.add(aged(100)), store.add(aged(99))
    store.claim("event|e1|bot", first.id)
    store.claim("push|bot|sha256:1|1.0", first.id)
    store.claim("event|e2|bot", second.id)

    keys = store.owned_keys({first.id})

    assert {owner: sorted(held) for owner, held in keys.items()} == {
        first.id: ["event|e1|bot", "push|bot|sha256:1|1.0"]
    }
    assert store.forget([first], {first.id: [*keys[first.id], "event|never|bot"]}) == [first.id]
    assert store.claimed("event|e1|bot") is None and store.claimed("event|e2|bot") == second.id


def test_a_transaction_that_fails_is_redone_row_by_row_and_keeps_the_changed_record(
    store: TableDeploymentStore,
) -> None:
    read = [store.add(aged(100 + n / 1000)) for n in range(40)]  # 120 rows: 33 records, then 7
    keys = {d.id: [f"event|e{n}|bot", f"push|bot|{n}"] for n, d in enumerate(read)}
    for owner, held in keys.items():
        for key in held:
            store.claim(key, owner)
    changed = store.update(read[35].moved_to("superseded", AT, reason="noted meanwhile"))

    gone = store.forget(read, keys)

    assert set(gone) == {d.id for d in read} - {changed.id}
    assert [d.id for d in store.created_before(time.time(), limit=500)] == [changed.id]
    # Row by row the keys go first: never a key naming a missing record.
    assert all(store.claimed(key) is None for held in keys.values() for key in held)


def test_keys_of_the_first_layout_are_moved_before_they_are_looked_up_and_then_forgotten(
    store: TableDeploymentStore,
) -> None:
    table: TableClient = store._table
    owner, key = "0000000000001aaaaaa", "event|e1|bot"
    # As the first layout wrote it: partition "k", the RowKey without its prefix.
    table.create_entity({"PartitionKey": "k", "RowKey": key_row(key)[2:], "owner": owner, "key": key})
    fresh = TableDeploymentStore(table)  # a new process: the move has not run yet

    assert fresh.owned_keys({owner}) == {owner: [key]}
    assert fresh.forget([fresh.add(record(owner, "failed"))], {owner: [key]}) == [owner]
    assert list(table.query_entities("PartitionKey eq 'k'")) == [] and fresh.claimed(key) is None
