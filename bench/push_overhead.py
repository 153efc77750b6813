"""(1) Push handling overhead: an ImagePushed delivery to the dev host until its 202, next to the
floor: the bare ``create_version`` (azure-ai-projects) plus one Table insert (azure-data-tables).

Pushes and floor operations alternate in blocks, so that drift on a noisy machine hits both.
Each push is a new tag of one of the agents, so every delivery creates a version."""

from __future__ import annotations

import time
import uuid

from bench.common import AGENTS, Bench, Result, Row, Sender, agent, hosted_definition, image, ms, summary
from deployer.cli.simulate import image_pushed_event

EVENTS = 500
BLOCK = 50
WARM_UP = 5
TARGET_RATIO = 1.5


def run(b: Bench) -> Result:
    sender = Sender(b.info.deployer_url)
    foundry = b.foundry_client("floor")
    table = b.table("floor")
    for n in range(WARM_UP):  # first-use costs (SDK imports, clients, connections) are not measured
        _push(sender, n, "warm")
        floor_op(foundry, table, n, "warm")
    pushes: list[float] = []
    floor: list[float] = []
    for start in range(0, EVENTS, BLOCK):
        pushes += [_push(sender, n, "p") for n in range(start, start + BLOCK)]
        floor += [floor_op(foundry, table, n, "f") for n in range(start, start + BLOCK)]
    sender.close()
    calls = _calls_per_push(b)
    push, bare = summary(pushes), summary(floor)
    ratio = push["p50_ms"] / bare["p50_ms"]
    rows = [
        Row(
            "1. push handling",
            f"ImagePushed → 202, p50 ({EVENTS} events)",
            ms(push["p50_ms"]),
            ms(bare["p50_ms"]),
            f"{ratio:.2f}x",
            f"≤ {TARGET_RATIO}x floor",
            ratio <= TARGET_RATIO,
        ),
        Row(
            "1. push handling",
            "ImagePushed → 202, p99",
            ms(push["p99_ms"]),
            ms(bare["p99_ms"]),
            f"{push['p99_ms'] / bare['p99_ms']:.2f}x",
        ),
    ]
    rows.append(
        Row(
            "1. push handling",
            "calls per push (Table + Foundry), in-process",
            f"{calls['table']:.1f} + {calls['foundry']:.1f}",
            "1 + 1",
        )
    )
    return Result(rows, {"push": push, "floor": bare, "p50_ratio": round(ratio, 3), "calls_per_push": calls})


def _calls_per_push(b: Bench, pushes: int = 20) -> dict[str, float]:
    """The requests one push sends, counted with the app's composition run in-process."""
    from deployer.deploy.start import handle_event
    from deployer.entrypoints.acr_events import parse_event

    ctx, table_calls = b.context(table="calls", project="calls")
    for n in range(pushes):
        handle_event(ctx, parse_event(image_pushed_event(image(n % AGENTS, f"calls{n}"))))
    foundry = len(b.foundry_requests("calls"))
    return {"table": table_calls.count / pushes, "foundry": foundry / pushes}


def _push(sender: Sender, n: int, prefix: str) -> float:
    event = image_pushed_event(image(n % AGENTS, f"{prefix}{n // AGENTS}"))
    status, seconds = sender.deliver([event])
    if status != 202:
        raise RuntimeError(f"push {n}: the dev host answered {status}")
    return seconds


def floor_op(foundry: object, table: object, n: int, prefix: str) -> float:
    name, ref = agent(n % AGENTS), image(n % AGENTS, f"{prefix}{n // AGENTS}")
    started = time.perf_counter()
    foundry.agents.create_version(  # type: ignore[attr-defined]
        name, definition=hosted_definition(ref), metadata={"deployer_deployment_id": uuid.uuid4().hex}
    )
    table.create_entity(  # type: ignore[attr-defined]
        {"PartitionKey": "d", "RowKey": uuid.uuid4().hex, "agent": name, "image": ref, "status": "pending"}
    )
    return time.perf_counter() - started
