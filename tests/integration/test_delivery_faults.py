"""More rows of the fault matrix (``test_fault_matrix.py``): what real delivery does to one push
(duplicates at once, redeliveries after a refused or forbidden ``create_version``), a reader
watching a deployment replace another, and retention meeting a version that still has sessions.
Each runs on its own :class:`~tests.integration.invariants.Site` of this module's stack and ends
with the same invariants; the Foundry faults are set one test at a time (the stack is this
module's own).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from azure.data.tables import UpdateMode

from deployer.adapters.table_layout import RECORDS, open_row
from deployer.domain.clock import parse_iso
from deployer.domain.transitions import FIRST_DELAY_S
from localdev.stack import LOCAL_TOKEN
from tests.integration.fault_lab import Lab, running_lab
from tests.integration.invariants import Site, call, check_invariants, history, settle, wait_until

pytestmark = pytest.mark.integration
SERVING = ("active", "verified")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(tmp_path_factory.mktemp("delivery-faults")) as lab:
        yield lab


@pytest.fixture(autouse=True)
def clean_emulator(lab: Lab) -> Iterator[None]:
    yield
    lab.emulator(faults=[], session_linger_s=None)


def create_path(project_path: str) -> str:
    return f"^{project_path}/agents/bot/versions$"


# -- five deliveries of one push at once -----------------------------------------------------------


def test_five_deliveries_of_one_push_at_once_never_put_off_its_first_look(lab: Lab) -> None:
    """Whichever delivery creates the version makes the next look due in ``FIRST_DELAY_S``; the
    others, which lost the race for the record, may not push it back to the pending grace."""
    site = lab.site("five-at-once")
    host = site.start_host(timers=False)  # no poll: the open-work rows stay as the deliveries left them
    events = [site.push_event(f"1.{n}.0") for n in range(6)]
    for event in events:
        with ThreadPoolExecutor(max_workers=5) as pool:
            answers = list(pool.map(lambda e: site.deliver([e], host=host), [event] * 5))
        assert answers == [202] * 5
    due = {deployment_id: float(row["due"]) for deployment_id, row in site.open_work().items()}
    records = site.records()
    assert {r["status"] for r in records} == {"creating"} and len(records) == len(events)
    late = {
        r["RowKey"]: round(due[r["RowKey"]] - parse_iso(r["updated_at"]), 1)
        for r in records
        if due[r["RowKey"]] > parse_iso(r["updated_at"]) + FIRST_DELAY_S + 1.0  # ms-rounded times
    }
    assert late == {}, f"next look put off by this many seconds after 'creating': {late}"
    site.start_host()
    settle(site)
    check_invariants(site)
    assert len(site.creates()) == len(events)


# -- a redelivery after create_version was refused ---------------------------------------------------


def test_a_redelivery_after_create_version_was_throttled_to_the_end_creates_the_version_at_once(
    lab: Lab,
) -> None:
    """The first delivery's call got 429 past the SDK's retries (4 answers), so nothing of ours is
    still running: the redelivery lists, finds nothing and creates, instead of leaving the record
    pending until the poll's grace runs out."""
    site = lab.site("throttled-then-redelivered")
    lab.set_faults(
        [
            {
                "method": "POST",
                "path": create_path(site.project_path),
                "status": 429,
                "count": 4,
                "retry_after_s": 1,
            }
        ]
    )
    host = site.start_host(timers=False)
    event = site.push_event("1.0.0")
    assert site.deliver([event], host=host) == 500  # retryable: Event Grid redelivers
    assert site.record_for(event)["status"] == "pending"
    assert site.redeliver([event], host=host) == [202]
    assert site.record_for(event)["status"] == "creating"
    site.start_host()
    settle(site)
    check_invariants(site)
    assert history(site.record_for(event)) == ["pending", "image_checked", "creating", "active"]
    assert len(site.creates()) == 5  # 4 refused, 1 created


# -- Foundry answering 401/403 for a while ---------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_foundry_refusing_the_deployer_for_a_while_is_retried_not_failed(lab: Lab, status: int) -> None:
    """A role still propagating or a credential being rotated: the delivery answers 500 (Event
    Grid redelivers) and the deployment stays pending, then goes on once Foundry lets it in."""
    site = lab.site(f"refused-{status}")
    lab.set_faults([{"method": "POST", "path": create_path(site.project_path), "status": status, "count": 2}])
    host = site.start_host(timers=False)
    event = site.push_event("1.0.0")
    assert site.deliver([event], host=host) == 500
    assert site.record_for(event)["status"] == "pending"
    assert site.redeliver([event], host=host)[-1] == 202
    site.start_host()
    settle(site)
    check_invariants(site)
    assert history(site.record_for(event)) == ["pending", "image_checked", "creating", "active"]
    assert len(site.creates()) == 3


# -- a reader while one deployment replaces another -------------------------------------------------


def test_a_reader_never_sees_two_serving_deployments_of_one_agent(lab: Lab) -> None:
    """The new deployment becoming active and the old one superseded are one write."""
    site = lab.site("one-serving")
    site.start_host()
    seen: list[int] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(sum(r["status"] in SERVING for r in site.records()))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    host = next(iter(site.hosts))
    for n in range(4):
        event = site.push_event(f"1.{n}.0")
        assert site.deliver([event], host=host) == 202
        assert wait_until(lambda e=event: site.record_for(e)["status"] == "active", timeout_s=60)
    stop.set()
    reader.join()
    settle(site)
    check_invariants(site)
    assert [r["status"] for r in site.records()].count("active") == 1
    assert len(seen) > 20 and max(seen) == 1, f"{len(seen)} reads, serving counts seen: {set(seen)}"


# -- retention and a version that still has sessions ------------------------------------------------


def call_endpoint(site: Site) -> str:
    """One Responses call to the agent's endpoint (it leaves a session on the version it routes to)."""
    url = f"{site.info.foundry_origin}{site.project_path}/agents/bot/endpoint/protocols/openai/responses"
    status, body = call(
        "POST",
        f"{url}?api-version=v1",
        body={"input": "hi"},
        headers={"Authorization": f"Bearer {LOCAL_TOKEN}"},
        tls=site.tls,
    )
    assert status == 200, body
    return str(body.get("id"))


def push_and_wait(site: Site, tag: str, host: str) -> dict[str, Any]:
    event = site.push_event(tag)
    assert site.deliver([event], host=host) == 202
    assert wait_until(lambda: site.record_for(event)["status"] == "active", timeout_s=60)
    return event


def test_retention_leaves_a_version_with_sessions_for_later_and_the_new_deployment_settles(lab: Lab) -> None:
    lab.emulator(session_linger_s=3600)
    site = lab.site("busy-version", agent_options=("keep_versions: 1",))
    host = site.start_host()
    first = push_and_wait(site, "1.0.0", host)
    call_endpoint(site)  # version 1 now has a session for an hour
    second = push_and_wait(site, "1.1.0", host)
    new = site.record_for(second)

    def open_rows() -> dict[str, float]:
        return {deployment_id: float(row["due"]) for deployment_id, row in site.open_work().items()}

    # The new deployment's work ends (its settle does not wait for the busy version) ...
    assert wait_until(lambda: new["RowKey"] not in open_rows(), timeout_s=30), site.records()
    old = site.record_for(first)
    rows = open_rows()
    # ... and the old one waits for its own next try.
    assert rows == {old["RowKey"]: pytest.approx(parse_iso(old["version_delete_next_at"]), abs=0.01)}
    assert old["version_delete_refused_at"] and not old.get("version_deleted_at")
    assert parse_iso(old["version_delete_next_at"]) - parse_iso(old["version_delete_refused_at"]) >= 60
    assert version_numbers(site) == ["1", "2"]

    lab.emulator(session_linger_s=None)  # the session ended
    fast_forward_row(site, old["RowKey"])  # the next try's time has come
    assert wait_until(lambda: site.record_for(first).get("version_deleted_at"), timeout_s=30)
    settle(site)
    check_invariants(site)
    assert wait_until(lambda: version_numbers(site) == ["2"], timeout_s=10), site.versions()
    assert not site.record_for(first).get("version_delete_next_at")


def test_retention_forces_a_busy_version_out_after_retention_force_after_s(lab: Lab) -> None:
    lab.emulator(session_linger_s=3600)
    site = lab.site("busy-forced", agent_options=("keep_versions: 1", "retention_force_after_s: 0"))
    host = site.start_host()
    first = push_and_wait(site, "1.0.0", host)
    call_endpoint(site)
    push_and_wait(site, "1.1.0", host)
    assert wait_until(lambda: site.record_for(first).get("version_deleted_at"), timeout_s=30)
    settle(site)
    check_invariants(site)
    assert wait_until(lambda: version_numbers(site) == ["2"], timeout_s=10), site.versions()
    assert site.record_for(first)["version_delete_refused_at"]
    deletes = [r for r in site.requests("DELETE") if r["path"].endswith("/agents/bot/versions/1")]
    assert [r["query"].get("force") for r in deletes] == [None, "true"]


def fast_forward_row(site: Site, deployment_id: str) -> None:
    """Make one open-work row due now, as the passing of its wait would."""
    site.table.update_entity(
        {"PartitionKey": RECORDS, "RowKey": open_row(deployment_id), "due": time.time()},
        mode=UpdateMode.MERGE,
    )


def version_numbers(site: Site) -> list[str]:
    return sorted(
        str(v["version"]) for v in site.versions() if v.get("status") not in ("deleting", "deleted")
    )
