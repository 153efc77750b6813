"""The poll's leases on Azurite: the due entries of one tick are written in entity-group
transactions, and a row that changed since it was read loses only its own lease."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from azure.data.tables import TableClient, TableServiceClient

from deployer.adapters.table_store import TableDeploymentStore
from deployer.domain.model import Deployment
from deployer.domain.platform import Scheduled
from deployer.domain.roles import RoleGrant
from localdev.stack import Stack

pytestmark = pytest.mark.integration


class Requests:
    """Counts the requests a table client sends (an azure-core ``raw_request_hook``)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _request: object) -> None:
        self.count += 1


@pytest.fixture
def counted(stack: Stack) -> Iterator[tuple[TableDeploymentStore, Requests]]:
    assert stack.info is not None
    service = TableServiceClient.from_connection_string(stack.info.table_connection_string)
    name = f"t{uuid.uuid4().hex[:12]}"
    service.create_table(name)
    requests = Requests()
    table = TableClient.from_connection_string(
        stack.info.table_connection_string, table_name=name, raw_request_hook=requests
    )
    yield TableDeploymentStore(table), requests
    service.delete_table(name)


def open_entries(store: TableDeploymentStore, count: int) -> list[Scheduled]:
    for n in range(count):
        store.schedule(Scheduled(deployment_id=f"d{n:04d}", due=100.0))
    return store.due(1000.0, 1000)


def test_unchanged_entries_are_leased_a_hundred_per_request(counted) -> None:
    store, requests = counted
    read = open_entries(store, 150)
    requests.count = 0

    leased = store.lease([replace(e, due=200.0, attempt=1) for e in read])

    assert requests.count == 2  # one transaction per hundred rows
    assert all(lease is not None and lease.etag != e.etag for lease, e in zip(leased, read, strict=True))
    assert {(e.due, e.attempt) for e in store.due(1000.0, 1000)} == {(200.0, 1)}


def test_a_row_changed_since_it_was_read_loses_only_its_own_lease(counted) -> None:
    store, requests = counted
    read = open_entries(store, 150)
    store.schedule(replace(read[3], due=900.0))  # another worker took it meanwhile
    requests.count = 0

    leased = store.lease([replace(e, due=200.0) for e in read])

    assert [n for n, lease in enumerate(leased) if lease is None] == [3]
    # The first hundred failed together and were written one by one; the rest together.
    assert requests.count == 1 + 100 + 1
    due = {e.deployment_id: e.due for e in store.due(1000.0, 1000)}
    assert due.pop(read[3].deployment_id) == 900.0
    assert set(due.values()) == {200.0} and len(due) == 149


def test_a_row_removed_since_it_was_read_is_not_written_again(counted) -> None:
    store, _ = counted
    read = open_entries(store, 20)
    store.unschedule(read[7].deployment_id)  # its deployment ended meanwhile

    leased = store.lease([replace(e, due=200.0) for e in read])

    assert [n for n, lease in enumerate(leased) if lease is None] == [7]
    due = {e.deployment_id: e.due for e in store.due(1000.0, 1000)}
    assert read[7].deployment_id not in due and set(due.values()) == {200.0} and len(due) == 19


def test_a_second_tick_that_read_the_same_entries_leases_none_of_them(counted) -> None:
    store, _ = counted
    read = open_entries(store, 120)
    first = store.lease([replace(e, due=200.0) for e in read])
    second = store.lease([replace(e, due=300.0) for e in read])  # read before the first leased
    assert all(lease is not None for lease in first) and second == [None] * len(read)
    assert {e.due for e in store.due(1000.0, 1000)} == {200.0}


def creating(store: TableDeploymentStore, count: int) -> list[tuple[Deployment, Scheduled]]:
    """``count`` creating records, each with its open-work entry leased by a tick."""
    at = "2026-11-29T12:00:00.000Z"
    records = [
        store.add(
            Deployment(
                id=f"d{n:04d}",
                agent="bot",
                image=f"r/i:{n}",
                status="creating",
                source="event",
                created_at=at,
                updated_at=at,
                version=str(n + 1),
            )
        )
        for n in range(count)
    ]
    leases = store.lease([replace(e, due=200.0) for e in open_entries(store, count)])
    return [(d, lease) for d, lease in zip(records, leases, strict=True) if lease is not None]


def granted(d: Deployment) -> Deployment:
    return replace(d, runtime_role=RoleGrant(status="granted", principal_id=f"p-{d.id}", attempts=1))


def test_the_endings_of_many_looks_are_written_fifty_deployments_per_request(counted) -> None:
    store, requests = counted
    leased = creating(store, 120)
    requests.count = 0

    written = store.update_and_schedule_each(
        [(granted(d), replace(lease, due=300.0, attempt=1)) for d, lease in leased]
    )

    assert written == [True] * 120
    assert requests.count == 3  # a record and an entry each: 50 deployments per transaction
    stored = [store.get(d.id) for d, _ in leased]
    assert all(d is not None and d.runtime_role is not None for d in stored)
    assert {(e.due, e.attempt) for e in store.due(1000.0, 1000)} == {(300.0, 1)}


def test_a_look_whose_record_or_entry_changed_writes_only_what_is_unchanged(counted) -> None:
    store, requests = counted
    leased = creating(store, 60)
    (changed, _), (_, taken) = leased[5], leased[9]
    store.update(changed.moved_to("active", "2026-11-29T12:01:00.000Z"))  # another worker moved it on
    store.schedule(replace(taken, due=900.0))  # another worker took this one's entry
    requests.count = 0

    written = store.update_and_schedule_each([(granted(d), replace(lease, due=300.0)) for d, lease in leased])

    assert [n for n, ok in enumerate(written) if not ok] == [5, 9]
    # The first fifty failed together and were written one by one (the changed record alone,
    # without its entry); the other ten together.
    assert requests.count == 1 + (48 * 2 + 1 + 2) + 1
    kept = store.get(changed.id)
    assert kept is not None and kept.status == "active" and kept.runtime_role is None
    due = {e.deployment_id: e.due for e in store.due(1000.0, 1000)}
    assert due.pop(changed.id) == 200.0 and due.pop(taken.deployment_id) == 900.0
    assert set(due.values()) == {300.0}
    ninth = store.get(taken.deployment_id)
    assert ninth is not None and ninth.runtime_role is not None  # its record was unchanged: written
