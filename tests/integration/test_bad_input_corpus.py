"""The bad-input corpus: every case in ``tests/fixtures/bad_input/*.json`` sent through the dev
host's real endpoints (the Event Grid webhook and ``/api/...``), each its own test.

A case names its request and what must come back:

- ``event`` (``eventgrid`` or ``cloudevents``: the documented ACR sample, with a fresh id and
  digest) changed by ``set`` / ``unset`` (dotted paths) and ``fill`` (a field made ``size``
  characters long), sent as an array (``as: object`` for one object); or ``batch`` (several such
  changes of the Event Grid sample); or a literal body: ``json``, ``text`` or ``base64``;
- ``path`` (below ``/api/``, sent as written: percent-encoding included), ``method``, ``headers``
  (``null`` removes a default one), ``query`` (instead of ``functionName=on_image_pushed``);
- ``expect``: ``status`` and, for the API, the problem ``problem`` slug and a ``detail`` excerpt;
  for the host's own refusals a ``message`` excerpt; for Event Grid deliveries that are
  acknowledged, what each event was ``recorded`` as and the record's ``reason`` excerpt;
- ``xfail``: a product bug the case shows (the test is a strict xfail until it is fixed).

Whatever the answer, no case may get a 500, write a deployment (only the refused or ignored
record of an acknowledged event, and its event-id claim), or call Foundry's ``create_version``;
and the service keeps serving afterwards.
"""

from __future__ import annotations

import base64
import copy
import json
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableClient

from deployer.adapters.table_layout import KEY, RECORDS, RECORDS_BELOW
from localdev.stack import Stack
from tests.integration.invariants import call
from tests.registry_seed import seed, seed_pushed

HERE = Path(__file__).parent
FIXTURES = HERE.parent / "fixtures"
CORPUS = FIXTURES / "bad_input"
SAMPLES = {
    "eventgrid": json.loads((FIXTURES / "acr" / "imagepushed.eventgrid.json").read_text())[0],
    "cloudevents": json.loads((FIXTURES / "acr" / "imagepushed.cloudevents.json").read_text()),
}
EVENTGRID_PATH = "/runtime/webhooks/eventgrid"
PROBLEM_PREFIX = "urn:agent-deployer:problem:"


def load_corpus() -> list[Any]:
    cases = []
    for path in sorted(CORPUS.glob("*.json")):
        for case in json.loads(path.read_text()):
            marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
            cases.append(pytest.param(case, id=f"{path.stem}/{case['id']}", marks=marks))
    return cases


CASES = load_corpus()


@dataclass
class Service:
    """The corpus's own stack: a dev host on its own Azurite and Foundry emulator."""

    url: str
    foundry_origin: str
    table: TableClient
    tls: ssl.SSLContext
    registry_endpoint: str = ""
    ca_bundle: str = ""

    def creates(self) -> int:
        """``create_version`` calls Foundry has received."""
        status, body = call("GET", f"{self.foundry_origin}/_emulator/requests", tls=self.tls)
        assert status == 200, body
        return sum(1 for r in body["requests"] if r["method"] == "POST" and r["path"].endswith("/versions"))

    def rows(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {(e["PartitionKey"], e["RowKey"]): dict(e) for e in self.table.list_entities()}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    state = tmp_path_factory.mktemp("bad-input")
    # No timers: nothing but the requests of the corpus writes to the table.
    with Stack(config_path=HERE / "deployer.corpus.yaml", state_dir=state, run_timers=False) as stack:
        assert stack.info is not None
        info = stack.info
        table = TableClient.from_connection_string(info.table_connection_string, "deployments")
        tls = ssl.create_default_context(cafile=info.foundry_ca_bundle)
        service = Service(
            url=info.deployer_url,
            foundry_origin=info.foundry_origin,
            table=table,
            tls=tls,
            registry_endpoint=info.registry_endpoint,
            ca_bundle=info.foundry_ca_bundle,
        )
        assert call("GET", f"{service.url}/api/health")[0] == 200
        yield service


# -- building a case's request -----------------------------------------------------------------


def _walk(document: dict[str, Any], dotted: str) -> tuple[dict[str, Any], str]:
    *parents, leaf = dotted.split(".")
    for name in parents:
        document = document[name]
    return document, leaf


def changed(sample: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    """The sample with a fresh id and digest, then the case's changes."""
    event = copy.deepcopy(sample)
    event["id"] = str(uuid.uuid4())
    event["data"]["target"]["digest"] = "sha256:" + uuid.uuid4().hex * 2
    for dotted, value in case.get("set", {}).items():
        parent, leaf = _walk(event, dotted)
        parent[leaf] = value
    for dotted in case.get("unset", []):
        parent, leaf = _walk(event, dotted)
        parent.pop(leaf, None)
    if "fill" in case:
        parent, leaf = _walk(event, case["fill"]["path"])
        parent[leaf] = "a" * case["fill"]["size"]
    return event


def body_of(case: dict[str, Any]) -> tuple[bytes, list[dict[str, Any]]]:
    """The request body and the events in it."""
    if "text" in case:
        return case["text"].encode(), []
    if "base64" in case:
        return base64.b64decode(case["base64"]), []
    if "batch" in case:
        events = [changed(SAMPLES["eventgrid"], change) for change in case["batch"]]
        return json.dumps(events).encode(), events
    if "event" in case:
        event = changed(SAMPLES[case["event"]], case)
        shape = case.get("as", "array" if case["event"] == "eventgrid" else "object")
        document: Any = [event] if shape == "array" else event
        return json.dumps(document, ensure_ascii=False).encode(), [event]
    if "json" not in case:
        return b"", []
    document = copy.deepcopy(case["json"])
    if "fill" in case:
        parent, leaf = _walk(document, case["fill"]["path"])
        parent[leaf] = "a" * case["fill"]["size"]
    return json.dumps(document, ensure_ascii=False).encode(), []


def send(service: Service, case: dict[str, Any]) -> tuple[int | None, Any, list[dict[str, Any]]]:
    raw, events = body_of(case)
    if "path" in case:
        url = f"{service.url}/api/{case['path']}"
        headers = {"Content-Type": "application/json"}
    else:
        url = f"{service.url}{EVENTGRID_PATH}?{case.get('query', 'functionName=on_image_pushed')}"
        headers = {"Content-Type": "application/json", "aeg-event-type": "Notification"}
    headers.update(case.get("headers", {}))
    sent = {name: value for name, value in headers.items() if value is not None}
    status, body = call(case.get("method", "POST"), url, raw=raw, headers=sent)
    return status, body, events


# -- the corpus --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_clearly_and_deploys_nothing(service, case):
    expect = case["expect"]
    rows, creates = service.rows(), service.creates()

    status, body, events = send(service, case)

    assert status == expect["status"], body
    after = service.rows()
    assert service.creates() == creates, "create_version was called"
    if "problem" in expect:  # the API: an RFC 9457 problem, nothing written
        assert isinstance(body, dict) and body["type"] == PROBLEM_PREFIX + expect["problem"], body
        assert body["status"] == status and body["title"], body
        assert expect["detail"].lower() in body["detail"].lower(), body
        assert after == rows
    elif "message" in expect:  # the host's own refusal, before the function runs
        assert expect["message"].lower() in str(body or "").lower(), body
        assert after == rows
    else:  # an Event Grid delivery acknowledged: each event recorded, none deployed
        assert {key: after[key] for key in rows} == rows, "an existing row was changed"
        written = {key: row for key, row in after.items() if key not in rows}
        records = [
            row for (partition, key), row in written.items() if partition == RECORDS and key < RECORDS_BELOW
        ]
        recorded = expect["recorded"] if isinstance(expect["recorded"], list) else [expect["recorded"]]
        assert sorted(r["status"] for r in records) == sorted(recorded), records
        # records and idempotency keys only: no agent row, no open work
        allowed = [p == RECORDS and (k < RECORDS_BELOW or k.startswith(KEY)) for p, k in written]
        assert all(allowed), sorted(written)
        assert all(r.get("agent", "") == "" and not r.get("version") for r in records), records
        if "reason" in expect:
            [record] = records
            assert expect["reason"] in record["reason"], record
        named = [e["id"][:200] for e in events if isinstance(e.get("id"), str) and e["id"]]
        assert {r.get("event_id") for r in records} >= set(named)


@pytest.mark.parametrize(
    "change",
    [
        {"set": {"eventTime": "yesterday"}},
        {"set": {"eventTime": 1714070387}},
    ],
    ids=["event-time-not-a-date", "event-time-a-number"],
)
def test_an_event_time_the_worker_cannot_decode_fails_in_the_host_and_writes_nothing(service, change):
    """Event Grid stamps ``eventTime`` itself, so only a caller bypassing it can send these. The
    Python worker decodes the envelope before the function runs, so the app never sees them and
    the host answers 500, as the real host does; what the app owes is that nothing is written."""
    rows, creates = service.rows(), service.creates()
    status, body, _ = send(service, {"event": "eventgrid", **change})
    assert status == 500 and "Exception while executing function" in str(body)
    assert service.rows().keys() == rows.keys() and service.creates() == creates


def test_the_service_keeps_serving_after_the_corpus(service):
    creates = service.creates()
    push = changed(SAMPLES["eventgrid"], {"set": {"data.target.tag": "v-after-corpus"}})
    url = f"{service.url}{EVENTGRID_PATH}?functionName=on_image_pushed"
    seed_pushed(service.registry_endpoint, service.ca_bundle, [push])
    assert call("POST", url, body=[push], headers={"aeg-event-type": "Notification"})[0] == 202
    [record] = [r for r in service.rows().values() if r.get("event_id") == push["id"]]
    assert (record["agent"], record["status"]) == ("hello", "creating")
    deploy = {"agent": "manual-bot", "image": "myregistry.azurecr.io/agents/manual-bot:2.0.0"}
    seed(service.registry_endpoint, service.ca_bundle, deploy["image"])
    status, started = call("POST", f"{service.url}/api/deployments", body=deploy)
    assert status == 202 and started["status"] == "creating", started
    assert service.creates() == creates + 2
    assert call("GET", f"{service.url}/api/health")[0] == 200
