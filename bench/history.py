"""(8) History retention's cost.

A table with 10,000 finished records 100 days old (each with its event key and a delivered
notification) and 1,000 from last week: ``deployer.deploy.history.prune`` in-process with the
app's own composition, until nothing is left past retention. Figures: records deleted per second,
Table requests per 100 records deleted (all partitions), and the cost of an hourly run that finds
nothing to delete. Floor: the same 10,000 records and keys deleted with bare entity-group
transactions of 100 rows, no reads."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from bench.common import Bench, Result, Row, agent, image
from deployer.adapters.table_agents import key_entity
from deployer.adapters.table_layout import KEY, KEY_END, RECORDS, RECORDS_BELOW
from deployer.domain.clock import iso
from deployer.domain.model import new_deployment_id

OLD = 10_000
RECENT = 1_000
OLD_DAYS = 100.0
TABLE, FLOOR_TABLE, PROJECT = "history", "historyfloor", "history"


def run(b: Bench) -> Result:
    from deployer.deploy.history import prune

    ctx, calls = b.context(table=TABLE, project=PROJECT)
    old = _insert(b.table(TABLE), OLD, OLD_DAYS)
    _insert(b.table(TABLE), RECENT, 7.0)
    calls.count = 0
    started = time.perf_counter()
    report = prune(ctx, budget_s=3600.0)
    wall = time.perf_counter() - started
    requests = calls.count
    left = [r for r in b.records(TABLE) if r["RowKey"] in old]
    calls.count, ctx.store.entities_read = 0, 0
    idle = prune(ctx, budget_s=3600.0)
    idle_calls, idle_read = calls.count, ctx.store.entities_read
    floor = _floor(b)
    rate = report.records / wall
    rows = [
        Row(
            "8. history retention",
            f"{OLD:,} records past retention (+ keys, notifications) of {OLD + RECENT:,}: records deleted/s",
            f"{rate:.0f}/s ({report.passes} passes, {wall:.1f} s)",
            f"{OLD / floor:.0f}/s (bare transactions)",
            f"{rate / (OLD / floor):.2f}x",
        ),
        Row(
            "8. history retention",
            "Table requests per 100 records deleted",
            f"{100 * requests / max(report.records, 1):.1f}",
            f"{100 * 2 * OLD / 100 / OLD:.1f} (records + keys, 100 per transaction)",
        ),
        Row(
            "8. history retention",
            "records deleted / left past retention / recent kept",
            f"{report.records} / {len(left)} / {len(b.records(TABLE))}",
            target=f"{OLD} / 0 / {RECENT}",
            meets=report.records == OLD and not left and len(b.records(TABLE)) == RECENT,
        ),
        Row(
            "8. history retention",
            "an hourly run with nothing to delete: Table requests / entities read",
            f"{idle_calls} / {idle_read}",
        ),
    ]
    data = {
        "old": OLD,
        "recent": RECENT,
        "deleted": {"records": report.records, "keys": report.keys, "notifications": report.notifications},
        "passes": report.passes,
        "wall_s": round(wall, 3),
        "table_requests": requests,
        "idle": {"passes": idle.passes, "table_requests": idle_calls, "entities_read": idle_read},
        "floor_s": round(floor, 3),
    }
    return Result(rows, data)


def _insert(table: Any, count: int, days: float) -> set[str]:
    """``count`` superseded records created ``days`` ago, each with its event key and a delivered
    notification, 100 per transaction; their ids."""
    base, ids = time.time() - days * 86_400, set()
    for start in range(0, count, 100):
        records, keys, notes = [], [], []
        for n in range(start, min(start + 100, count)):
            created = base - n
            deployment_id = new_deployment_id(created)
            ids.add(deployment_id)
            records.append(("create", _record(deployment_id, created, n)))
            key = f"event|{uuid.uuid4()}|{agent(n % 100)}"
            keys.append(("create", key_entity(key, deployment_id)))
            notes.append(("create", _notification(deployment_id, created)))
        for operations in (records, keys, notes):
            table.submit_transaction(operations)
    return ids


def _record(deployment_id: str, created: float, n: int) -> dict[str, Any]:
    steps = (("pending", 0), ("creating", 1), ("active", 45), ("superseded", 90))
    return {
        "PartitionKey": RECORDS,
        "RowKey": deployment_id,
        "agent": agent(n % 100),
        "image": image(n % 100, f"h{n}"),
        "status": "superseded",
        "source": "event",
        "created_at": iso(created),
        "updated_at": iso(created + 90),
        "version": str(n + 1),
        "version_deleted_at": iso(created + 600),
        "history": json.dumps([{"status": s, "at": iso(created + t)} for s, t in steps]),
        "pending_events": "[]",
    }


def _notification(deployment_id: str, created: float) -> dict[str, Any]:
    return {
        "PartitionKey": "n",
        "RowKey": f"{deployment_id}.superseded.hook",
        "deployment_id": deployment_id,
        "agent": "bench",
        "event_type": "deployment.superseded",
        "event_id": str(uuid.uuid4()),
        "subscriber": "hook",
        "channel": "webhook",
        "time": iso(created),
        "data": "{}",
        "created_at": created,
        "started_at": created,
        "state": "delivered",
        "attempts": 1,
    }


def _floor(b: Bench) -> float:
    """Seconds to delete OLD records and their keys with bare transactions of 100 rows."""
    table = b.table(FLOOR_TABLE)
    _insert(table, OLD, OLD_DAYS)
    # Records and keys share partition RECORDS, so one transaction may hold both kinds.
    # The SDK substitutes a parameter only where it stands alone between spaces.
    query = "PartitionKey eq @pk and ( RowKey lt @below or ( RowKey ge @first and RowKey lt @end ) )"
    params = {"pk": RECORDS, "below": RECORDS_BELOW, "first": KEY, "end": KEY_END}
    keys = [e["RowKey"] for e in table.query_entities(query, parameters=params, select=["RowKey"])]
    started = time.perf_counter()
    for i in range(0, len(keys), 100):
        chunk = keys[i : i + 100]
        table.submit_transaction([("delete", {"PartitionKey": RECORDS, "RowKey": k}) for k in chunk])
    return time.perf_counter() - started
