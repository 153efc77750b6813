"""The fault matrix: one test per fault, each ending with the same invariants
(``tests/integration/invariants.py``) checked against Table Storage and the Foundry emulator.

Every fault runs on its own :class:`~tests.integration.invariants.Site` (table, Foundry project,
config, webhook path, dev hosts) on a stack this module starts, so killing and restarting
processes never touches the session's stack. Event Grid's redelivery is simulated the way it
happens: the same payload posted again after a 500 or a dropped connection.

Some faults leave a ``pending`` record (``create_version`` failed past the SDK's retries, or
its host died during the call). The poll reconciles such a record only once it is
``PENDING_GRACE_S`` old (longer than any ``create_version`` call), and the hang must outlast
the SDK's 30 s read timeout. Those faults are *started* together when the module starts
(``EARLY``, each on its own site and emulator project, so they cannot interfere), and each test
then finishes its own story: the waits overlap instead of adding up.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deployer.domain.subscribers import Webhook
from localdev.stack import ROOT, Stack, _wait_for_port
from tests.integration.fault_lab import Lab, running_lab
from tests.integration.invariants import (
    Receiver,
    Site,
    check_invariants,
    fast_forward,
    history,
    settle,
    wait_until,
)

#: Past ``FoundryPlatform``'s 30 s read timeout; the SDK does not retry a POST that timed out.
HANG_S = 34.0
#: The early faults by name: each one's site and its beginning, running or done.
Begun = dict[str, tuple[Site, Future[Any]]]


class DiskStack(Stack):
    """A stack whose Azurite keeps its data on disk (``--location``), so it can be stopped and
    started again without losing the table, as a storage account does; the default
    ``--inMemoryPersistence`` would lose it. Azurite saves its files on SIGINT (and every 5 s),
    not on SIGTERM, so it is stopped with SIGINT."""

    def _start_azurite(self, logs: Path) -> None:
        command = [
            str(ROOT / "node_modules" / ".bin" / "azurite-table"),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(self.ports["table"]),
            "--location",
            str(self.state_dir / "azurite"),
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ]
        log = (logs / "azurite.log").open("a")
        self.processes["azurite"] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)
        _wait_for_port(self.ports["table"], self.processes["azurite"], "Azurite")

    def stop_azurite(self) -> None:
        azurite = self.processes.pop("azurite")
        azurite.send_signal(signal.SIGINT)
        azurite.wait(timeout=30)

    def restart_azurite(self) -> None:
        self._start_azurite(self.state_dir / "logs")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(tmp_path_factory.mktemp("fault-matrix")) as lab:
        yield lab


@pytest.fixture(scope="module")
def disk_stack(tmp_path_factory: pytest.TempPathFactory, lab: Lab) -> Iterator[DiskStack]:
    state = tmp_path_factory.mktemp("fault-matrix-disk")
    (state / "azurite").mkdir()
    stack = DiskStack(config_path=lab.config_dir / "base.yaml", state_dir=state, run_timers=False)
    with stack:
        yield stack


# -- the dev host killed between the transition and the notification send --------------------------


def test_a_host_killed_after_a_transition_before_its_webhook_leaves_the_send_to_the_next_host(
    lab: Lab,
) -> None:
    site = lab.site("kill-before-send")
    path = f"/{site.name}"
    doomed = site.start_host(timers=False)  # handles the delivery; its sender never runs
    event = site.push_event("1.0.0")
    assert site.deliver([event], host=doomed) == 202
    record = site.record_for(event)
    assert record["status"] == "creating"
    assert [q["RowKey"].split(".")[:2] for q in site.rows("q")] == [[record["RowKey"], "creating"]]
    site.kill_host(doomed)
    assert lab.receiver.ids(path) == []
    site.start_host()
    settle(site)
    check_invariants(site)
    sent = Counter(lab.receiver.ids(path))
    assert sent == {e["event_id"]: 1 for e in site.rows("n")} and sent[f"{record['RowKey']}.creating"] == 1


def test_a_host_killed_with_a_webhook_in_flight_sends_it_again_with_the_same_id(lab: Lab) -> None:
    site = lab.site("kill-in-flight")
    path = f"/{site.name}"
    lab.receiver.hold(path, 3.0)  # the first webhook is held open: the host dies with it in flight
    doomed = site.start_host()
    event = site.push_event("1.0.0")
    assert site.deliver([event], host=doomed) == 202
    assert wait_until(lambda: lab.receiver.ids(path), timeout_s=15)
    site.kill_host(doomed)
    in_flight = set(lab.receiver.ids(path))  # received by the kill, none answered (each is held 3 s)
    site.start_host()
    settle(site)  # the dead sender's five-minute lease is fast-forwarded
    check_invariants(site)
    first, *_ = lab.receiver.ids(path)
    # At least once: the first event, held open when its sender died, is sent again with its
    # webhook-id (receivers drop the repeat by it), and so may another the dead sender had begun;
    # every other event exactly once.
    sent = Counter(lab.receiver.ids(path))
    assert set(sent) == {e["event_id"] for e in site.rows("n")}
    assert sent[first] == 2
    assert all(count == 1 for event_id, count in sent.items() if event_id not in in_flight), sent
    assert all(sent[event_id] <= 2 for event_id in in_flight), sent


# -- the webhook receiver down for the first N attempts -------------------------------------------


def test_a_receiver_down_for_the_first_three_attempts_gets_each_event_once_on_the_fourth(lab: Lab) -> None:
    down = Receiver()
    down.down()
    site = lab.site("receiver-down", hooks=[(down, "/hook"), (lab.receiver, "/receiver-down-gone")])
    lab.receiver.answer("/receiver-down-gone", 410)  # a receiver gone for good: dead at once
    key = Webhook(url=down.url("/hook")).key
    event = site.push_event("1.0.0")
    assert site.deliver([event], host=site.start_host()) == 202

    def entries() -> list[dict[str, Any]]:
        return [e for e in site.rows("n") if e["subscriber"] == key]

    def three_attempts_each() -> bool:
        # Attempts 1 and 2 come at once and 5 s later; the 3rd is due five minutes on, so it is
        # fast-forwarded, for entries that have not had three attempts only.
        tried = {e["RowKey"]: e["attempts"] for e in entries()}
        fast_forward(site, only=lambda row: tried.get(row["RowKey"], 3) < 3)
        return len(tried) == 2 and min(tried.values()) >= 3

    assert wait_until(three_attempts_each, timeout_s=60, step_s=0.5), entries()
    assert {e["last_result"] for e in entries()} == {"connection_error"}
    down.up()
    settle(site)  # the 4th attempt, due in 30 minutes, is fast-forwarded
    check_invariants(site)
    assert {(e["state"], e["attempts"]) for e in entries()} == {("delivered", 4)}
    assert sorted(down.ids("/hook")) == sorted(e["event_id"] for e in entries())  # once each
    gone = [e for e in site.rows("n") if e["subscriber"] != key]
    assert {(e["state"], e["last_result"], e["attempts"]) for e in gone} == {("dead", "410", 1)}
    down.down()


# -- two dev hosts on one table and one emulator ---------------------------------------------------


def test_two_hosts_on_one_table_given_the_same_deliveries_deploy_and_notify_each_push_once(lab: Lab) -> None:
    site = lab.site("scale-out")
    path = f"/{site.name}"
    hosts = [site.start_host(), site.start_host()]
    events = [site.push_event(f"1.{n}.0") for n in range(8)]
    deliveries = [(event, host) for event in events for host in hosts]  # every event to both hosts
    with ThreadPoolExecutor(max_workers=len(deliveries)) as pool:
        answers = list(pool.map(lambda pair: site.redeliver([pair[0]], host=pair[1]), deliveries))
    # A delivery that lost five races for the agent row answers 500 and is redelivered.
    assert {tries[-1] for tries in answers} == {202}, answers
    settle(site)
    check_invariants(site)
    ids = lab.receiver.ids(path)
    assert len(ids) == len(set(ids)), "a notification was sent twice"


# -- faults started when the module starts -----------------------------------------------------


@dataclass(frozen=True)
class Early:
    begin: Callable[[Site], Any]
    faults: Callable[[str], list[dict[str, Any]]]
    disk: bool = False


EARLY: dict[str, Early] = {}


def early(
    name: str, *, faults: Callable[[str], list[dict[str, Any]]] = lambda _: [], disk: bool = False
) -> Callable[[Callable[[Site], Any]], Callable[[Site], Any]]:
    def register(begin: Callable[[Site], Any]) -> Callable[[Site], Any]:
        EARLY[name] = Early(begin=begin, faults=faults, disk=disk)
        return begin

    return register


@pytest.fixture(scope="module", autouse=True)
def begun(lab: Lab, disk_stack: DiskStack) -> Iterator[Begun]:
    """Every early fault's site, its emulator faults (set once, before any request), and its
    beginning running in the background; a test takes its ``started(...)`` story and checks it."""
    sites = {name: lab.site(name, stack=disk_stack if e.disk else None) for name, e in EARLY.items()}
    lab.set_faults([f for name, e in EARLY.items() for f in e.faults(sites[name].project_path)])
    with ThreadPoolExecutor(max_workers=len(EARLY)) as pool:
        yield {name: (sites[name], pool.submit(e.begin, sites[name])) for name, e in EARLY.items()}


def started(begun: Begun, name: str) -> tuple[Site, Any]:
    site, future = begun[name]
    return site, future.result(timeout=150)


def create_path(project: str) -> str:
    return f"^{project}/agents/bot/versions$"


# -- Foundry answers 429 (with Retry-After), 500 or 503 for a while -----------------------------


def foundry_errors(status: int) -> Callable[[str], list[dict[str, Any]]]:
    """``create_version`` and ``get_version`` answer ``status`` six times each: more than the
    SDK's three retries of one call, fewer than two calls' worth."""

    def faults(project: str) -> list[dict[str, Any]]:
        extra = {"status": status, "count": 6, **({"retry_after_s": 1} if status == 429 else {})}
        return [
            {"method": "POST", "path": create_path(project), **extra},
            {"method": "GET", "path": f"^{project}/agents/bot/versions/[^/]+$", **extra},
        ]

    return faults


def begin_foundry_errors(site: Site) -> dict[str, Any]:
    host = site.start_host()
    answers = [site.deliver([site.push_event(f"1.0.{n}")], host=host) for n in range(3)]
    redelivered = site.redeliver(site.pushes[:1], host=host)
    return {"answers": answers, "redelivered": redelivered}


for _status in (429, 500, 503):
    early(f"foundry-{_status}", faults=foundry_errors(_status))(begin_foundry_errors)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_foundry_failing_for_a_while_still_ends_with_one_version_per_push(begun: Begun, status: int) -> None:
    site, story = started(begun, f"foundry-{status}")
    # The first push outlasted the SDK's retries (4 of the 6 answers): the host answered 500 so
    # that Event Grid redelivers; the next push got the last 2 and then its version.
    assert story["answers"] == [500, 202, 202]
    assert story["redelivered"] == [202]  # the pending record; the poll creates its version
    settle(site)
    check_invariants(site)
    assert len(site.versions()) == 3
    if status == 429:  # the SDK waited as Retry-After asked between the first push's attempts
        times = [r["time"] for r in site.creates()[:4]]
        assert all(later - earlier >= 0.9 for earlier, later in itertools.pairwise(times)), times


# -- Foundry hangs past the client timeout --------------------------------------------------------


def hang(status: int | None) -> Callable[[str], list[dict[str, Any]]]:
    """The first ``create_version`` hangs past the client's timeout, then answers ``status``
    (``None``: Foundry creates the version after all)."""

    def faults(project: str) -> list[dict[str, Any]]:
        return [{"method": "POST", "path": create_path(project), "status": status, "delay_s": HANG_S}]

    return faults


def begin_hang(site: Site) -> dict[str, Any]:
    host = site.start_host()
    began = time.monotonic()
    answer = site.deliver([site.push_event("1.0.0")], host=host, timeout_s=HANG_S + 30)
    redelivered = site.redeliver(site.pushes, host=host)
    time.sleep(max(0.0, began + HANG_S + 1 - time.monotonic()))  # the hung call has been answered
    return {"answer": answer, "redelivered": redelivered}


early("hang-then-503", faults=hang(503))(begin_hang)
early("hang-then-created", faults=hang(None))(begin_hang)


def test_a_create_version_hanging_past_the_timeout_then_failing_is_created_once_by_the_poll(
    begun: Begun,
) -> None:
    site, story = started(begun, "hang-then-503")
    assert story["answer"] == 500  # the read timed out: retryable, so Event Grid redelivers
    assert story["redelivered"] == [202]
    settle(site)
    check_invariants(site)
    [record] = site.records()
    assert history(record) == ["pending", "image_checked", "creating", "active"]  # checked, then created


def test_a_create_version_hanging_past_the_timeout_then_succeeding_leaves_one_version(begun: Begun) -> None:
    site, story = started(begun, "hang-then-created")
    assert story["answer"] == 500
    assert story["redelivered"] == [202]
    settle(site)
    check_invariants(site)


# -- the dev host killed between create_version and the record update ------------------------------


def hold_create(project: str) -> list[dict[str, Any]]:
    """The first ``create_version`` is held open 3 s, then served: the window for the kill."""
    return [{"method": "POST", "path": create_path(project), "delay_s": 3.0}]


@early("kill-during-create", faults=hold_create)
def begin_kill_during_create(site: Site) -> dict[str, Any]:
    doomed = site.start_host(timers=False)
    event = site.push_event("1.0.0")
    with ThreadPoolExecutor(max_workers=1) as pool:
        delivery = pool.submit(site.deliver, [event], host=doomed)
        assert wait_until(site.creates, timeout_s=20)
        site.kill_host(doomed)
        answer = delivery.result()
    left = site.record_for(event)
    redelivered = site.redeliver([event], host=site.start_host())
    return {"answer": answer, "left": left, "redelivered": redelivered}


def test_a_host_killed_during_create_version_leaves_one_version_which_the_poll_adopts(begun: Begun) -> None:
    site, story = started(begun, "kill-during-create")
    assert story["answer"] is None  # the connection dropped with the host
    assert (story["left"]["status"], story["left"].get("version")) == ("pending", None)
    assert story["redelivered"] == [202]  # answered with the pending record, nothing created
    settle(site)
    check_invariants(site)
    [record] = site.records()
    assert history(record) == ["pending", "creating", "active"]
    assert len(site.creates()) == 1  # the killed host's call: the poll adopted its version


# -- Azurite stopped and restarted in the middle of a burst ----------------------------------------


@early("azurite-outage", disk=True)
def begin_azurite_outage(site: Site) -> dict[str, Any]:
    """16 pushes from 4 concurrent senders; Azurite is stopped once 4 are acknowledged and
    started again (same port, same files) once 3 deliveries have failed; then Event Grid
    redelivers every delivery that was not acknowledged."""
    stack = site.stack
    assert isinstance(stack, DiskStack)
    host = site.start_host()
    events = [site.push_event(f"1.{n}.0") for n in range(16)]
    answers: dict[str, int | None] = {}

    def send(event: dict[str, Any]) -> None:
        answers[event["id"]] = site.deliver([event], host=host)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for event in events:
            pool.submit(send, event)
        assert wait_until(lambda: len(answers) >= 4, timeout_s=30)
        stack.stop_azurite()
        assert wait_until(lambda: list(answers.values()).count(500) >= 3, timeout_s=60)
        stack.restart_azurite()
    failed = [e for e in events if answers[e["id"]] != 202]
    return {
        "answers": [answers[e["id"]] for e in failed],
        "redelivered": [site.redeliver([e], host=host)[-1] for e in failed],
    }


def test_azurite_stopped_mid_burst_fails_deliveries_with_500_and_their_redelivery_completes(
    begun: Begun,
) -> None:
    """What an outage of Table Storage can honestly show (Azurite on disk, see ``DiskStack``):
    deliveries during the outage answer 500, never 202 with nothing written, so Event Grid
    redelivers them; after the restart, the redeliveries and the poll finish every push once."""
    site, story = started(begun, "azurite-outage")
    assert story["answers"] and set(story["answers"]) == {500}
    assert set(story["redelivered"]) == {202}
    settle(site)
    check_invariants(site)
