"""``make bench`` (``python -m bench``): start the local stack on free ports, run each benchmark,
write ``bench/results.json`` and print the markdown table on stdout (progress goes to stderr)."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime

from bench import burst, cold_start, detection, history, poll_cost, push_overhead, scale
from bench.common import BENCH_DIR, Bench, Result, Row, start_stack
from bench.receiver import Receiver

COMMAND = "make bench (.venv/bin/python -m bench)"
POLLER_TABLE, POLLER_PROJECT = "detection", "detect"


#: What ``python -m bench NAME …`` may choose; ``detection`` includes the 60-second provisioning
#: (4a), which runs beside it on the same poller.
CHOICES = ("push_overhead", "burst", "detection", "poll_cost", "cold_start", "scale", "history")
PART_OF = {"poll_cost_provisioning": "detection", "poll_cost_tick": "poll_cost"}


def main(argv: list[str]) -> int:
    """Run every benchmark, or only those named; a partial run prints its table but leaves
    ``results.json`` (the source of the README's table) as it was."""
    unknown = sorted(set(argv) - set(CHOICES))
    if unknown:
        print(f"bench: no benchmark {', '.join(unknown)}; choose from {', '.join(CHOICES)}", file=sys.stderr)
        return 2
    chosen = set(argv or CHOICES)
    started = time.monotonic()
    results: dict[str, Result] = {}

    def step(name: str, work: Callable[[], Result]) -> None:
        if PART_OF.get(name, name) not in chosen:
            return
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        t = time.monotonic()
        try:
            results[name] = work()
        except Exception as exc:
            traceback.print_exc()
            results[name] = failed(name, exc)
        print(f"bench: {name} done in {time.monotonic() - t:.0f} s", file=sys.stderr, flush=True)

    step("cold_start", cold_start.run)
    receiver = Receiver()
    stack = start_stack(webhook=receiver.url)
    try:
        b = Bench(stack)
        step("push_overhead", lambda: push_overhead.run(b))
        step("burst", lambda: burst.run(b))
        if "detection" in chosen:
            poller_steps(b, step, receiver, results)
            stack.stop_process("poller")
        step("poll_cost_tick", lambda: poll_cost.tick(b))
        step("scale", lambda: scale.run(b))
        step("history", lambda: history.run(b))
    finally:
        stack.stop()
        receiver.stop()
    order = [
        "push_overhead",
        "burst",
        "detection",
        "poll_cost_provisioning",
        "poll_cost_tick",
        "cold_start",
        "scale",
        "history",
    ]
    rows = [row for name in order if name in results for row in results[name].rows]
    rows.sort(key=lambda r: r.benchmark[:2])  # by benchmark number; memory (6) last
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "command": COMMAND,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "duration_s": round(time.monotonic() - started, 1),
    }
    document = {
        **meta,
        "rows": [asdict(r) for r in rows],
        "benchmarks": {name: r.data for name, r in results.items()},
    }
    if not argv:
        tmp = BENCH_DIR / "results.json.tmp"
        tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        tmp.replace(BENCH_DIR / "results.json")
    print(table(rows, meta))
    return 1 if any(r.figure == "error" for r in rows) else 0


Step = Callable[[str, Callable[[], Result]], None]


def poller_steps(b: Bench, step: Step, receiver: Receiver, results: dict[str, Result]) -> None:
    """Detection (3) and, beside it on the same poller, the 60-second provisioning (4a)."""
    try:
        url, _ = b.start_poller(table=POLLER_TABLE, project=POLLER_PROJECT)
        provisioning = poll_cost.start_provisioning(b, url, table=POLLER_TABLE, project=POLLER_PROJECT)
    except Exception as exc:
        traceback.print_exc()
        results["detection"] = failed("3, 4a (poller)", exc)
        return
    step(
        "detection",
        lambda: detection.run(b, url, table=POLLER_TABLE, project=POLLER_PROJECT, receiver=receiver),
    )
    step("poll_cost_provisioning", lambda: poll_cost.finish_provisioning(b, provisioning))


def failed(name: str, exc: Exception) -> Result:
    return Result([Row(name, "error", f"{type(exc).__name__}: {exc}"[:200])], {"error": repr(exc)})


def table(rows: list[Row], meta: dict[str, object]) -> str:
    head = (
        f"{meta['date']} · {meta['cores']} cores · `{meta['command']}` · "
        f"Python {meta['python']} · whole run {meta['duration_s']} s\n\n"
        "| benchmark | figure | value | floor (same run) | ratio | target | meets |\n"
        "|---|---|---|---|---|---|---|"
    )
    marks = {True: "yes", False: "**no**", None: "—"}
    lines = [
        f"| {r.benchmark} | {r.figure} | {r.value} | {r.floor} | {r.ratio} | {r.target} | {marks[r.meets]} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
