"""The service functions with the real adapters: Table Storage on Azurite, Foundry on the emulator."""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient

from deployer.adapters.arm_roles import AzureRoleAssignments
from deployer.adapters.credentials import StaticTokenCredential
from deployer.adapters.foundry import FoundryPlatform
from deployer.adapters.table_store import TableDeploymentStore
from deployer.config.parser import load_config
from deployer.context import Context
from deployer.deploy.poll import poll_once
from deployer.deploy.start import handle_event
from deployer.domain.clock import SystemClock
from deployer.domain.transitions import PENDING_GRACE_S
from deployer.entrypoints.acr_events import parse_event
from tests.registry_seed import pushed_event

CONFIG = Path(__file__).parent / "deployer.test.yaml"


@pytest.fixture
def ctx(stack, http, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", stack.info.foundry_ca_bundle)
    service = TableServiceClient.from_connection_string(stack.info.table_connection_string)
    table = service.create_table(f"t{uuid.uuid4().hex[:12]}")
    project = f"{stack.info.foundry_origin}/api/projects/p{uuid.uuid4().hex[:8]}"
    return Context(
        config=load_config(str(CONFIG), {}),
        store=TableDeploymentStore(table),
        platform=FoundryPlatform(StaticTokenCredential("test-token")),
        clock=SystemClock(),
        default_endpoint=project,
        roles=AzureRoleAssignments(StaticTokenCredential("test-token"), endpoint=stack.info.arm_endpoint),
    )


def push(ctx, image, digest=None):
    return handle_event(ctx, parse_event(pushed_event(image, digest=digest)))


def settle(ctx, *, rounds=40):
    for _ in range(rounds):
        poll_once(ctx, concurrency=4, budget_s=20)
        if not ctx.store.due(time.time() + 3600, 1):
            return
        time.sleep(0.5)


def versions(ctx, agent):
    live = ctx.platform.list_versions(ctx.default_endpoint, agent)
    return [v for v in live if v.status not in ("deleting", "deleted")]


def test_twenty_pushes_in_shuffled_order_end_with_the_highest_semver_active(ctx):
    tags = [f"1.{minor}.0" for minor in range(20)]
    random.Random(3).shuffle(tags)
    records = [r for tag in tags for r in push(ctx, f"myregistry.azurecr.io/agents/support-bot:{tag}")]
    assert len(records) == 20
    settle(ctx)
    final = {r.tag: ctx.store.get(r.id).status for r in records}
    assert final["1.19.0"] == "active"
    assert [t for t, s in final.items() if s == "active"] == ["1.19.0"]
    assert set(final.values()) <= {"active", "superseded", "skipped"}
    assert len(versions(ctx, "support-bot")) == 3  # keep_versions


def test_a_crash_between_create_version_and_the_record_update_leaves_one_version(ctx, monkeypatch):
    store = ctx.store
    original = store.update

    def dies_at_the_move_to_creating(deployment):
        if deployment.status == "creating":
            raise SystemExit("process killed")
        return original(deployment)

    monkeypatch.setattr(store, "update", dies_at_the_move_to_creating)
    event = parse_event(pushed_event("myregistry.azurecr.io/agents/echo:crash-1"))
    with contextlib.suppress(SystemExit):
        handle_event(ctx, event)
    monkeypatch.setattr(store, "update", original)  # the process that runs on is not killed
    [pending] = handle_event(ctx, event)  # the redelivery creates nothing new
    assert pending.status == "pending" and len(versions(ctx, "echo")) == 1
    monkeypatch.setattr("deployer.deploy.create.PENDING_GRACE_S", 0.0)
    ctx.store.schedule(
        replace(ctx.store.due(time.time() + PENDING_GRACE_S + 60, 1)[0], due=time.time(), etag=None)
    )
    settle(ctx)
    done = store.get(pending.id)
    assert done.status == "active" and done.version == "1"
    assert len(versions(ctx, "echo")) == 1
    assert [h.status for h in done.history] == ["pending", "creating", "active"]


def test_two_tick_loops_at_once_apply_each_transition_once(ctx):
    records = [r for n in range(50) for r in push(ctx, f"myregistry.azurecr.io/agents/echo:b{n}")]
    time.sleep(2.5)
    loops = [threading.Thread(target=settle, args=(ctx,)) for _ in range(2)]
    for loop in loops:
        loop.start()
    for loop in loops:
        loop.join()
    histories = [[h.status for h in ctx.store.get(r.id).history] for r in records]
    assert all(len(h) == len(set(h)) for h in histories), "a transition was applied twice"
    assert sum(h[-1] == "active" for h in histories) == 1
    assert all(h[-1] in ("active", "superseded") for h in histories), histories


def test_a_tick_reads_only_open_work_however_long_the_history(ctx):
    table = ctx.store._table
    for batch in range(100):
        table.submit_transaction(
            [
                (
                    "create",
                    {
                        "PartitionKey": "d",
                        "RowKey": f"{batch:04d}{n:04d}",
                        "agent": "echo",
                        "status": "active",
                    },
                )
                for n in range(100)
            ]
        )
    for n in range(20):
        push(ctx, f"myregistry.azurecr.io/agents/echo:open-{n}")
    ctx.store.entities_read = 0
    due = ctx.store.due(time.time() + 60, 1000)
    assert len(due) == 20 and ctx.store.entities_read == 20
