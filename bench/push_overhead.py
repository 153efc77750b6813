"""(1) Push handling overhead: an ImagePushed delivery to the dev host until its 202, next to the
floor: the bare ``create_version`` (azure-ai-projects) plus one Table insert (azure-data-tables).
The image check's share: its registry lookup alone (azure-containerregistry, in-process), per push.
Every image is put in the registry stand-in before its event is sent (not timed).

Pushes and floor operations alternate in blocks, so that drift on a noisy machine hits both.
Each push is a new tag of one of the agents, so every delivery creates a version."""

from __future__ import annotations

import time
import uuid

from bench.common import AGENTS, Bench, Result, Row, Sender, agent, hosted_definition, image, ms, summary
from deployer.cli.simulate import image_pushed_event

EVENTS = 500
CHECKS = 200
BLOCK = 50
WARM_UP = 5
TARGET_RATIO = 1.5


def run(b: Bench) -> Result:
    sender = Sender(b.info.deployer_url)
    foundry = b.foundry_client("floor")
    table = b.table("floor")
    for n in range(WARM_UP):  # first-use costs (SDK imports, clients, connections) are not measured
        _push(b, sender, n, "warm")
        floor_op(foundry, table, n, "warm")
    pushes: list[float] = []
    floor: list[float] = []
    for start in range(0, EVENTS, BLOCK):
        pushes += [_push(b, sender, n, "p") for n in range(start, start + BLOCK)]
        floor += [floor_op(foundry, table, n, "f") for n in range(start, start + BLOCK)]
    sender.close()
    calls = _calls_per_push(b)
    check = summary(_check_times(b))
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
            "calls per push (Table + Foundry + registry), in-process; registry for a repository's first push",
            f"{calls['table']:.1f} + {calls['foundry']:.1f} + {calls['registry']:.1f}; "
            f"{calls['registry_first']:.1f}",
            "1 + 1 + 0",
        )
    )
    rows.append(
        Row(
            "1. push handling",
            f"image check alone (registry lookup by digest), p50 ({CHECKS} lookups)",
            ms(check["p50_ms"]),
            ms(bare["p50_ms"]),
            f"{check['p50_ms'] / bare['p50_ms']:.2f}x",
        )
    )
    measured = {"push": push, "floor": bare, "image_check": check, "p50_ratio": round(ratio, 3)}
    return Result(rows, {**measured, "calls_per_push": calls})


def _calls_per_push(b: Bench, pushes: int = 20) -> dict[str, float]:
    """The requests one push sends, counted with the app's composition run in-process: a second
    push to each of ``pushes`` agents, after a first one (its registry requests counted apart:
    a repository's first image check gets the registry's token)."""
    from deployer.deploy.start import handle_event
    from deployer.entrypoints.acr_events import parse_event

    ctx, table_calls = b.context(table="calls", project="calls")
    rounds = [[image_pushed_event(image(n % AGENTS, f"calls{r}")) for n in range(pushes)] for r in (1, 2)]
    b.registry.seed_pushed(rounds[0] + rounds[1])
    registry = []
    for events in rounds:
        table_calls.count, foundry_before, since = 0, len(b.foundry_requests("calls")), time.time()
        for event in events:
            handle_event(ctx, parse_event(event))
        registry.append(_deployer_registry_requests(b, since) / pushes)
    foundry = (len(b.foundry_requests("calls")) - foundry_before) / pushes
    return {
        "table": table_calls.count / pushes,
        "foundry": foundry,
        "registry": registry[1],
        "registry_first": registry[0],
    }


def _deployer_registry_requests(b: Bench, since: float) -> int:
    """Registry requests the deployer's SDK sent from ``since`` (the stand-in logs the newest
    2,000; the Foundry emulator's image pulls are not counted)."""
    logged = [r for r in b.registry.requests() if r["time"] >= since]
    agents = [str({k.lower(): v for k, v in r["headers"].items()}.get("user-agent", "")) for r in logged]
    return sum(1 for agent in agents if "containerregistry" in agent)


def _check_times(b: Bench) -> list[float]:
    """The image check's registry lookup alone, as the app makes it (its adapter, in-process),
    for pushed images by digest; each repository's first lookup (the token exchange, the
    connection) is not measured."""
    from deployer.entrypoints.acr_events import parse_event

    ctx, _ = b.context(table="check", project="check")
    events = [image_pushed_event(image(n % AGENTS, f"check{n}")) for n in range(CHECKS + AGENTS)]
    b.registry.seed_pushed(events)
    pushes = [parse_event(event).push for event in events]
    times = []
    for push in pushes:
        assert push is not None and push.digest is not None
        started = time.perf_counter()
        found = ctx.registry.inspect(push.registry, push.repository, push.digest)
        times.append(time.perf_counter() - started)
        if found is None:
            raise RuntimeError(f"the registry stand-in does not hold {push.image}")
    return times[AGENTS:]


def _push(b: Bench, sender: Sender, n: int, prefix: str) -> float:
    event = image_pushed_event(image(n % AGENTS, f"{prefix}{n // AGENTS}"))
    b.registry.seed_pushed([event])  # docker push, before ACR sends the event (not timed)
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
