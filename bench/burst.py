"""(2) Burst and (6) peak memory: 1,000 pushes (AGENTS agents x TAGS tags, shuffled) in Event
Grid batches from SENDERS concurrent senders to the dev host, which retry a non-202 answer as
Event Grid does. Checked against the emulator's request log and the table: nothing lost, no
version created twice, exactly one record per push. The floor is the same number of bare
``create_version`` + Table insert pairs from as many threads."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench import push_overhead
from bench.common import (
    AGENTS,
    PUSH_PROJECT,
    Bench,
    Result,
    Row,
    Sender,
    image,
    memory_kib,
    reset_peak_memory,
)
from deployer.cli.simulate import image_pushed_event

TAGS = 10
BATCH = 10
SENDERS = 8
ATTEMPTS = 5  # Event Grid retries far longer; a bounded benchmark gives up after this many


def run(b: Bench) -> Result:
    order = [(i, f"b{t}") for i in range(AGENTS) for t in range(TAGS)]
    random.Random(8).shuffle(order)
    events = [image_pushed_event(image(i, tag)) for i, tag in order]
    b.registry.seed_pushed(events)  # the images are in the registry before their events
    batches = iter([events[k : k + BATCH] for k in range(0, len(events), BATCH)])
    pid = b.stack.processes["deployer"].pid
    before = memory_kib(pid)
    peak_reset = reset_peak_memory(pid)
    lock = threading.Lock()
    answers: Counter[int] = Counter()

    def send() -> None:
        sender = Sender(b.info.deployer_url)
        while True:
            with lock:
                batch = next(batches, None)
            if batch is None:
                break
            for _ in range(ATTEMPTS):
                status, _ = sender.deliver(batch)
                with lock:
                    answers[status] += 1
                if status == 202:
                    break
                time.sleep(1.0)
        sender.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(lambda _: send(), range(SENDERS)))
    wall = time.perf_counter() - started
    after = memory_kib(pid)
    rate = len(events) / wall
    checks = _check(b, events)
    floor_rate = _floor_rate(b, len(events))
    ok = checks["lost"] == 0 and checks["duplicate_versions"] == 0 and checks["not_one_record"] == 0
    peak_mib, rss_mib = after["VmHWM"] / 1024, before["VmRSS"] / 1024
    rows = [
        Row(
            "2. burst",
            f"{len(events)} pushes, batches of {BATCH}, {SENDERS} senders",
            f"{rate:.0f} pushes/s",
            f"{floor_rate:.0f} ops/s",
            f"{rate / floor_rate:.2f}x",
        ),
        Row(
            "2. burst",
            "lost / duplicate versions / pushes without exactly one record",
            f"{checks['lost']} / {checks['duplicate_versions']} / {checks['not_one_record']}",
            target="0 / 0 / 0",
            meets=ok,
        ),
        Row(
            "6. memory",
            "dev host peak RSS through the burst" + ("" if peak_reset else " (peak since start)"),
            f"{peak_mib:.0f} MiB",
            f"{rss_mib:.0f} MiB",
            f"{peak_mib / rss_mib:.2f}x",
        ),
    ]
    data = {
        "pushes": len(events),
        "wall_s": round(wall, 3),
        "pushes_per_s": round(rate, 1),
        "answers": {str(k): v for k, v in answers.items()},
        "checks": checks,
        "floor_ops_per_s": round(floor_rate, 1),
        "memory_kib": {"before": before, "after": after, "peak_reset_before_burst": peak_reset},
    }
    return Result(rows, data)


def _check(b: Bench, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Lost pushes, versions created more than once, pushes without exactly one record."""
    images = {e["id"]: f"{e['data']['request']['host']}/{e['subject']}" for e in events}
    rows = b.records("deployments")
    records = Counter(r.get("event_id") for r in rows)
    created = Counter(
        r["body"]["definition"]["container_configuration"]["image"]
        for r in b.foundry_requests(PUSH_PROJECT)
        if r["method"] == "POST" and r["path"].endswith("/versions") and r["body"]
    )
    statuses = Counter(r.get("status") for r in rows if r.get("event_id") in images)
    return {
        "lost": sum(1 for i in images if records[i] == 0),
        "not_one_record": sum(1 for i in images if records[i] != 1),
        "duplicate_versions": sum(1 for ref in images.values() if created[ref] > 1),
        "versions_missing": sum(1 for ref in images.values() if created[ref] == 0),
        "record_statuses": dict(statuses),
    }


def _floor_rate(b: Bench, count: int) -> float:
    """Bare create_version + insert pairs per second, from SENDERS threads."""
    numbers = itertools.count()
    lock = threading.Lock()

    def work() -> None:
        foundry, table = b.foundry_client("floor"), b.table("floor")
        while True:
            with lock:
                n = next(numbers)
            if n >= count:
                return
            push_overhead.floor_op(foundry, table, n, "burst")

    started = time.perf_counter()
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(lambda _: work(), range(SENDERS)))
    return count / (time.perf_counter() - started)
