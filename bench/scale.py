"""(7) Scale: an installation with CONFIGURED agents, OPEN open deployments and FINISHED finished
ones (``BENCH_SCALE=full``: 100,000; the default 20,000 keeps ``make bench`` short), in-process
with the app's own composition on its own table and project.

a. One tick over the open deployments (still provisioning), first look and a later one: wall
   time, entities read, Table requests, and the bench process's memory (peak RSS over the tick,
   and its growth), next to the same tick's floor: OPEN bare ``get_version`` calls.
b. A burst of BURST pushes over BURST_AGENTS agents (BURST / BURST_AGENTS new tags each,
   shuffled) from SENDERS threads calling ``handle_event``: pushes per second, Table requests
   per push, and that every push has exactly one record and every version was created once."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.common import STATE_DIR, Bench, Result, Row, image, memory_kib, ms, reset_peak_memory, write_config
from bench.poll_cost import insert_finished
from deployer.cli.simulate import image_pushed_event

FULL = os.environ.get("BENCH_SCALE") == "full"
CONFIGURED = 1000
OPEN = 100
FINISHED = 100_000 if FULL else 20_000
BURST, BURST_AGENTS, SENDERS = 1000, 200, 8
PROJECT = "scale"


def run(b: Bench) -> Result:
    from deployer.config.settings import Settings
    from deployer.deploy.poll import poll_once
    from deployer.deploy.start import handle_event
    from deployer.entrypoints.acr_events import parse_event

    STATE_DIR.mkdir(parents=True, exist_ok=True)
    config = write_config(STATE_DIR / "deployer.scale.yaml", agents=CONFIGURED)
    ctx, calls = b.context(table="scale", project=PROJECT, config=config)
    insert_finished(b.table("scale"), FINISHED, CONFIGURED)
    b.emulator_settings(provision_delay_s=None)
    step = CONFIGURED // OPEN
    opened = [image_pushed_event(image(n * step, "open")) for n in range(OPEN)]
    b.registry.seed_pushed(opened)  # the images are in the registry before their events
    for event in opened:
        handle_event(ctx, parse_event(event))
    settings = Settings.from_env({})
    pid = os.getpid()
    looks = []
    for _ in ("first look", "later look"):
        due = ctx.store.due(time.time() + 3600, 10 * OPEN)
        time.sleep(max(0.0, max(e.due for e in due) - time.time() + 0.1))
        ctx.store.entities_read, calls.count = 0, 0
        before = memory_kib(pid)["VmRSS"]
        peak_reset = reset_peak_memory(pid)
        started = time.perf_counter()
        report = poll_once(ctx, concurrency=settings.poll_concurrency, budget_s=settings.poll_budget_s)
        wall = time.perf_counter() - started
        after = memory_kib(pid)
        looks.append(
            {
                "due": report.due,
                "worked": report.worked,
                "entities_read": ctx.store.entities_read,
                "table_calls": calls.count,
                "wall_s": round(wall, 3),
                "rss_growth_kib": after["VmRSS"] - before,
                "peak_rss_kib": after["VmHWM"] if peak_reset else None,
            }
        )
    floor = _bare_gets(b, [ctx.store.get(e.deployment_id) for e in due], settings.poll_concurrency)
    burst = _burst(b, ctx, calls, handle_event, parse_event)
    b.emulator_settings(provision_delay_s=0.5)
    return Result(
        _rows(looks, floor, burst), {"finished": FINISHED, "looks": looks, "floor_s": floor, "burst": burst}
    )


def _rows(looks: list[dict[str, Any]], floor: float, burst: dict[str, Any]) -> list[Row]:
    first, later = looks
    size = f"{CONFIGURED:,} agents, {OPEN} open + {FINISHED:,} finished"
    peak = later["peak_rss_kib"]
    return [
        Row(
            "7. scale",
            f"one tick, {size}, first / later look: wall time",
            f"{ms(first['wall_s'] * 1000)} / {ms(later['wall_s'] * 1000)}",
            f"{ms(floor * 1000)} ({OPEN} bare get_version)",
            f"{later['wall_s'] / floor:.2f}x",
            "≤ 2x floor",
            later["wall_s"] <= 2 * floor,
        ),
        Row(
            "7. scale",
            "… entities read / Table requests, first / later look",
            ", ".join(f"{x['entities_read']} / {x['table_calls']}" for x in looks),
            f"{OPEN} (open)",
        ),
        Row(
            "7. scale",
            "… bench process memory over the later tick: growth / peak RSS",
            f"{later['rss_growth_kib'] / 1024:.1f} MiB / " + (f"{peak / 1024:.0f} MiB" if peak else "n/a"),
        ),
        Row(
            "7. scale",
            f"burst: {BURST} pushes over {BURST_AGENTS} agents, {SENDERS} threads in-process",
            f"{burst['pushes_per_s']:.0f} pushes/s, {burst['table_calls_per_push']:.1f} Table requests/push",
        ),
        Row(
            "7. scale",
            "… pushes without exactly one record / versions created twice",
            f"{burst['without_one_record']} / {burst['duplicate_versions']}",
            target="0 / 0",
            meets=burst["without_one_record"] == 0 and burst["duplicate_versions"] == 0,
        ),
    ]


def _burst(b: Bench, ctx: Any, calls: Any, handle_event: Any, parse_event: Any) -> dict[str, Any]:
    order = [(i, f"burst{t}") for i in range(BURST_AGENTS) for t in range(BURST // BURST_AGENTS)]
    random.Random(7).shuffle(order)
    events = [image_pushed_event(image(i, tag)) for i, tag in order]
    b.registry.seed_pushed(events)
    calls.count = 0
    started = time.perf_counter()
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(lambda e: handle_event(ctx, parse_event(e)), events))
    wall = time.perf_counter() - started
    table_calls = calls.count
    ids = {e["id"] for e in events}
    per_event = Counter(r.get("event_id") for r in b.records("scale") if r.get("event_id") in ids)
    burst_images = {image(i, tag) for i, tag in order}
    creates = Counter(
        r["body"]["definition"]["container_configuration"]["image"]
        for r in b.foundry_requests(PROJECT)
        if r["method"] == "POST" and r["path"].endswith("/versions") and r["body"]
    )
    return {
        "pushes": len(events),
        "wall_s": round(wall, 2),
        "pushes_per_s": len(events) / wall,
        "table_calls_per_push": table_calls / len(events),
        "without_one_record": sum(1 for i in ids if per_event[i] != 1),
        "duplicate_versions": sum(1 for ref in burst_images if creates[ref] > 1),
    }


def _bare_gets(b: Bench, records: list[Any], concurrency: int) -> float:
    client = b.foundry_client(PROJECT)
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda r: client.agents.get_version(r.agent, r.version), records))
    return time.perf_counter() - started
