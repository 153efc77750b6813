"""The Table adapter's writes that must hold under concurrency, against Azurite: two records
replaced in one entity-group transaction, and an open-work row that a path which does not own
the deployment may only move earlier."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from azure.data.tables import TableServiceClient

from deployer.adapters.table_store import TableDeploymentStore
from deployer.domain.errors import Conflict
from deployer.domain.model import Deployment, Status
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
