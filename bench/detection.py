"""(3) Detection latency: from the emulator flipping a version to ``active`` (admin API) to the
deployment record showing ``active``, with the poll on the default 5-second schedule.

DEPLOYMENTS deployments (one per agent) are pushed to the dev host that runs the timers, with
provisioning that never ends by itself; deployment n is then flipped FLIP_FIRST_S + n x FLIP_STEP_S
after its record was created, so that the flips cover provisioning times from about 1 s to a
minute, all deployments running at once. The time the record shows ``active`` is the ``at`` of
its ``active`` history entry (written with the record)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.common import Bench, Result, Row, Sender, image, ms, summary
from bench.receiver import Receiver
from deployer.cli.simulate import image_pushed_event
from deployer.domain.clock import parse_iso

DEPLOYMENTS = 100
FLIP_FIRST_S = 1.0
FLIP_STEP_S = 0.6
SETTLE_S = 45.0  # after the last flip: longer than the longest backoff (30 s) plus one tick
TARGET_P50_S, TARGET_P99_S = 3.0, 6.0


def push(url: str, events: list[dict[str, Any]], senders: int = 8) -> None:
    """Deliver events one per request from ``senders`` threads; every answer must be 202."""

    def send(chunk: list[dict[str, Any]]) -> None:
        sender = Sender(url)
        for event in chunk:
            status, _ = sender.deliver([event])
            if status != 202:
                raise RuntimeError(f"event {event['id']}: the dev host answered {status}")
        sender.close()

    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(send, [events[k::senders] for k in range(senders)]))


def run(b: Bench, url: str, *, table: str, project: str, receiver: Receiver) -> Result:
    b.emulator_settings(provision_delay_s=None)
    events = [image_pushed_event(image(i, "d1")) for i in range(DEPLOYMENTS)]
    b.registry.seed_pushed(events)  # the images are in the registry before their events
    push(url, events)
    b.emulator_settings(provision_delay_s=0.5)
    ids = {e["id"] for e in events}
    records = sorted(
        (r for r in b.records(table) if r.get("event_id") in ids), key=lambda r: (r["created_at"], r["agent"])
    )
    if len(records) != DEPLOYMENTS or any(r["status"] != "creating" for r in records):
        raise RuntimeError(f"expected {DEPLOYMENTS} creating records, got {len(records)}")
    plan = sorted(
        (parse_iso(r["created_at"]) + FLIP_FIRST_S + n * FLIP_STEP_S, r) for n, r in enumerate(records)
    )
    flipped: dict[str, float] = {}
    for at, record in plan:
        time.sleep(max(0.0, at - time.time()))
        flipped[record["RowKey"]] = time.time()
        b.emulator(
            "POST",
            f"projects/{project}/agents/{record['agent']}/versions/{record['version']}/status",
            {"status": "active"},
        )
    deadline = time.time() + SETTLE_S
    seen: dict[str, float] = {}
    while len(seen) < len(flipped) and time.time() < deadline:
        for r in b.records(table):
            if r["RowKey"] in flipped and r["status"] == "active":
                entry = next(h for h in json.loads(r["history"]) if h["status"] == "active")
                seen[r["RowKey"]] = parse_iso(entry["at"])
        time.sleep(1.0)
    created = {r["RowKey"]: parse_iso(r["created_at"]) for r in records}
    latencies = [seen[k] - flipped[k] for k in seen]
    stats = summary(latencies)
    p50_s, p99_s = stats["p50_ms"] / 1000, stats["p99_ms"] / 1000
    rows = [
        Row(
            "3. detection",
            f"flip to active → record active, p50 / p99 ({DEPLOYMENTS} deployments)",
            f"{ms(stats['p50_ms'])} / {ms(stats['p99_ms'])}",
            "2.50 s / 4.95 s (tick alignment)",
            f"{p50_s / 2.5:.2f}x / {p99_s / 4.95:.2f}x",
            f"≤ {TARGET_P50_S:.0f} s / ≤ {TARGET_P99_S:.0f} s",
            len(seen) == len(flipped) and p50_s <= TARGET_P50_S and p99_s <= TARGET_P99_S,
        ),
        *webhook_rows(receiver, flipped, seen),
    ]
    data = {
        "latency": stats,
        "undetected": len(flipped) - len(seen),
        "floor": "a tick every 5 s: a flip waits 2.5 s for the next tick on average (computed)",
        "webhook": webhook_data(receiver, flipped, seen),
        "by_deployment": [
            {"flip_after_s": round(flipped[k] - created[k], 2), "latency_s": round(seen[k] - flipped[k], 3)}
            for k in sorted(seen, key=lambda k: flipped[k] - created[k])
        ],
    }
    return Result(rows, data)


def webhook_data(receiver: Receiver, flipped: dict[str, float], seen: dict[str, float]) -> dict[str, Any]:
    """Flip → webhook arrival, and record → webhook arrival (the send after the record changed)."""
    arrived = {k: receiver.arrived[k] for k in flipped if k in receiver.arrived}
    if not arrived:
        return {"measured": False, "arrived": 0}
    return {
        "measured": True,
        "arrived": len(arrived),
        "from_flip": summary([arrived[k] - flipped[k] for k in arrived]),
        "from_record": summary([arrived[k] - seen[k] for k in arrived if k in seen]),
    }


def webhook_rows(receiver: Receiver, flipped: dict[str, float], seen: dict[str, float]) -> list[Row]:
    data = webhook_data(receiver, flipped, seen)
    if not data["measured"]:
        return [Row("3. detection", "flip → webhook arrival", "no webhook arrived", meets=False)]
    flip, record = data["from_flip"], data["from_record"]
    return [
        Row(
            "3. detection",
            f"flip → webhook arrival, p50 / p99 ({data['arrived']} of {len(flipped)} arrived)",
            f"{ms(flip['p50_ms'])} / {ms(flip['p99_ms'])}",
            "2.50 s / 4.95 s (tick alignment)",
        ),
        Row(
            "3. detection",
            "record active → webhook arrival, p50 / p99",
            f"{ms(record['p50_ms'])} / {ms(record['p99_ms'])}",
            target="p50 ≤ 1 s",
            meets=data["arrived"] == len(flipped) and record["p50_ms"] <= 1000,
        ),
    ]
