"""The fault matrix for approvals: a person's approval racing the supersede a newer push makes,
on two dev hosts sharing one table, ending with the matrix's invariants
(``tests/integration/invariants.py``). Each round exactly one of the two wins: the approval
(the older deployment gets its version) or the supersede (it never gets one)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.fault_lab import Lab, running_lab
from tests.integration.invariants import Site, call, check_invariants, history, settle

pytestmark = pytest.mark.integration
ROUNDS = 6


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(tmp_path_factory.mktemp("fault-matrix-approvals")) as lab:
        yield lab


def decide(site: Site, host: str, deployment_id: str, action: str, body: Any = None) -> int | None:
    url = f"{site.hosts[host]}/api/deployments/{deployment_id}/{action}?code={site.info.function_key}"
    status, _ = call("POST", url, body=body, raw=None if body is not None else b"")
    return status


def test_an_approval_racing_a_supersede_has_exactly_one_winner_each_round(lab: Lab) -> None:
    options = ("keep_versions: 100", "approval: {expires_after_s: 3600}")
    site = lab.site("approve-vs-supersede", agent_options=options)
    hosts = [site.start_host(), site.start_host()]
    event = site.push_event("1.0.0")
    assert site.deliver([event], host=hosts[0]) == 202
    answers: dict[str, int | None] = {}
    for n in range(1, ROUNDS + 1):
        waiting = site.record_for(event)["RowKey"]
        event = site.push_event(f"1.0.{n}")
        with ThreadPoolExecutor(max_workers=2) as pool:  # the approval and the newer push at once
            approving = pool.submit(decide, site, hosts[n % 2], waiting, "approve")
            delivered = pool.submit(site.redeliver, [event], host=hosts[(n + 1) % 2])
            answers[waiting], pushed = approving.result(), delivered.result()
        assert pushed[-1] == 202
    last = site.record_for(event)["RowKey"]
    assert decide(site, hosts[0], last, "reject", {"reason": "end of the race"}) == 200
    settle(site)
    check_invariants(site)
    records = {r["RowKey"]: r for r in site.records()}
    owners = {v["metadata"]["deployer_deployment_id"] for v in site.versions()}
    for deployment_id, answer in answers.items():
        steps = history(records[deployment_id])
        if answer == 200:  # the approval won: it was created; the supersede found it decided
            assert steps[:4] == ["image_checked", "awaiting_approval", "approved", "pending"]
            assert deployment_id in owners
        else:  # the supersede won: no version, and the approval was refused
            assert answer == 409 and steps == ["image_checked", "awaiting_approval", "superseded"], steps
            assert deployment_id not in owners
    assert history(records[last]) == ["image_checked", "awaiting_approval", "rejected"]
    assert last not in owners
