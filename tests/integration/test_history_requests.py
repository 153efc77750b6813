"""What a history-retention pass costs in Table Storage requests, counted on the wire (the SDK's
request hook) against Azurite: records and their idempotency keys share partition ``d`` and go
together, each record with its keys in the same entity-group transaction."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from azure.data.tables import TableServiceClient

from deployer.adapters.credentials import StaticTokenCredential
from deployer.adapters.foundry import FoundryPlatform
from deployer.adapters.table_layout import KEY, KEY_END, RECORDS, RECORDS_BELOW
from deployer.adapters.table_store import TableDeploymentStore
from deployer.config.parser import parse_config
from deployer.context import Context
from deployer.deploy.history import prune_once
from deployer.domain.clock import SystemClock, iso
from deployer.domain.model import Deployment, Transition, new_deployment_id
from localdev.stack import Stack

pytestmark = pytest.mark.integration
CONFIG = {
    "registries": ["myregistry.azurecr.io"],
    "grant_runtime_role": False,
    "agents": [{"name": "bot", "repository": "agents/bot", "tags": "*"}],
}
DAY_S = 86_400.0


@pytest.fixture
def counted(stack: Stack) -> Iterator[tuple[Context, list[str]]]:
    """A context on a table of its own and the URL of each Table request it sends."""
    assert stack.info is not None
    urls: list[str] = []
    service = TableServiceClient.from_connection_string(
        stack.info.table_connection_string, raw_request_hook=lambda r: urls.append(r.http_request.url)
    )
    name = f"t{uuid.uuid4().hex[:12]}"
    ctx = Context(
        config=parse_config(CONFIG, {}),
        store=TableDeploymentStore(service.create_table(name)),
        platform=FoundryPlatform(StaticTokenCredential("test-token")),
        clock=SystemClock(),
        default_endpoint="https://example.services.ai.azure.com/api/projects/p",
    )
    yield ctx, urls
    service.delete_table(name)


def failed_long_ago(ctx: Context, n: int) -> str:
    """A push's record that failed 100 days ago, with its event and push keys."""
    created = time.time() - 100 * DAY_S - n
    record = ctx.store.add(
        Deployment(
            id=new_deployment_id(created),
            agent="bot",
            image=f"myregistry.azurecr.io/agents/bot:{n}",
            status="failed",
            source="event",
            created_at=iso(created),
            updated_at=iso(created),
            history=(
                Transition(status="pending", at=iso(created)),
                Transition(status="failed", at=iso(created)),
            ),
        )
    )
    ctx.store.claim(f"event|evt-{n}|bot", record.id)
    ctx.store.claim(f"push|bot|sha256:{n:064x}|{n}", record.id)
    return record.id


def test_thirty_records_and_their_sixty_keys_go_in_one_entity_group_transaction(counted) -> None:
    ctx, urls = counted
    for n in range(30):
        failed_long_ago(ctx, n)
    urls.clear()

    pruned = prune_once(ctx)

    assert (pruned.records, pruned.keys) == (30, 60)
    assert len([url for url in urls if "$batch" in url]) == 1
    table = ctx.store._table  # type: ignore[attr-defined]
    left = table.query_entities(
        "PartitionKey eq @pk and (RowKey lt @below or (RowKey ge @first and RowKey lt @end ) )",
        parameters={"pk": RECORDS, "below": RECORDS_BELOW, "first": KEY, "end": KEY_END},
    )
    assert list(left) == []
