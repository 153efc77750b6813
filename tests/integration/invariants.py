"""The fault matrix's world and the invariants every fault test ends with.

A :class:`Site` is one isolated installation of the deployer on a shared local stack: its own
table, its own Foundry project on the emulator (so the emulator's request log and versions are
its own), its own ``deployer.yaml`` with a webhook on a loopback :class:`Receiver`, and as many
dev hosts as a test starts, stops or kills. :func:`settle` lets the poll and the sender finish,
and :func:`check_invariants` checks, against Table Storage and the emulator:

1. every push has exactly one record, and it is terminal;
2. every agent version was created once: no two versions carry the same
   ``deployer_deployment_id``, every version belongs to a record, every record's version is its own;
3. every notification the records' transitions call for is in the outbox, ``delivered`` or
   ``dead``, and every delivered one reached the receiver;
4. nothing is pending forever: no open-work row, no queued notification, no unflushed event.

Time is the one thing a test cannot wait for: a lease left by a killed process (60 s for the
poll, 300 s for the sender) or a retry due in five minutes. :func:`fast_forward` moves such rows'
``due`` to now, which is what the passing of that time does and nothing more; a row due more
than two days ahead is never moved, so "pending forever" still fails the invariants.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from deployer.adapters.table_layout import OPEN, OPEN_END, RECORDS, RECORDS_BELOW
from deployer.cli.simulate import image_pushed_event
from deployer.domain.subscribers import Webhook
from deployer.domain.transitions import PENDING_GRACE_S
from localdev.stack import LOCAL_TOKEN, Stack, free_port
from tests.registry_seed import seed_pushed

SECRET = "whsec_" + base64.b64encode(b"fault-matrix-secret-32-bytes-ok!").decode()
REGISTRY = "myregistry.azurecr.io"
TERMINAL = frozenset(
    {"active", "superseded", "failed", "timed_out", "skipped", "ignored", "refused", "rejected"}
)
NOTIFIED = (
    "awaiting_approval",
    "creating",
    "active",
    "failed",
    "timed_out",
    "skipped",
    "superseded",
    "rejected",
)
#: Rows due further ahead than this are left alone by :func:`fast_forward` ("forever").
LONGEST_LEGITIMATE_WAIT_S = 2 * 86_400.0


# -- HTTP -------------------------------------------------------------------------------------


def call(
    method: str,
    url: str,
    *,
    body: Any = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 30.0,
    tls: ssl.SSLContext | None = None,
) -> tuple[int | None, Any]:
    """One request; ``(None, error)`` when the connection fails (a killed server)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s, context=tls) as response:
            return response.status, _decoded(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _decoded(exc.read())
    except (OSError, urllib.error.URLError) as exc:
        return None, repr(exc)


def _decoded(text: bytes) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text.decode(errors="replace")


def wait_until(condition: Any, *, timeout_s: float, step_s: float = 0.2) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout_s`` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step_s)


# -- the webhook receiver ---------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    webhook_id: str
    body: bytes


class Receiver:
    """A webhook receiver on a fixed loopback port that can be taken ``down`` (connections
    refused) and brought back ``up``, answer a script per path (each answer used once, the last
    one repeating; default 200), and hold requests open (``hold``) to widen a window."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self._answers: dict[str, list[int]] = {}
        self._holds: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.up()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, *statuses: int) -> None:
        self._answers[path] = list(statuses)

    def hold(self, path: str, *seconds: float) -> None:
        """Hold the next requests to ``path`` open this long each, before answering."""
        self._holds[path] = list(seconds)

    def ids(self, path: str) -> list[str]:
        with self._lock:
            return [r.webhook_id for r in self.received if r.path == path]

    def up(self) -> None:
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
            self._server.daemon_threads = True
            threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _next(self, path: str) -> tuple[int, float]:
        with self._lock:
            answers = self._answers.get(path) or [200]
            status = answers.pop(0) if len(answers) > 1 else answers[0]
            holds = self._holds.get(path) or []
            return status, (holds.pop(0) if holds else 0.0)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 30

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                path = self.path.split("?")[0]
                with receiver._lock:
                    receiver.received.append(Received(path, self.headers.get("webhook-id", ""), body))
                status, hold_s = receiver._next(path)
                time.sleep(hold_s)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


# -- sites ------------------------------------------------------------------------------------


@dataclass
class Site:
    """One isolated deployer (table, Foundry project, config, webhooks) on a running stack."""

    name: str
    stack: Stack
    receiver: Receiver
    config_dir: Path
    hooks: Sequence[tuple[Receiver, str]] = ()
    #: The agent's settings beyond name, repository and tags, one YAML line each (default:
    #: ``keep_versions: 100``, so nothing is deleted).
    agent_options: Sequence[str] = ()
    hosts: dict[str, str] = field(default_factory=dict)
    pushes: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        assert self.stack.info is not None
        self.info = self.stack.info
        self.tls = ssl.create_default_context(cafile=self.info.foundry_ca_bundle)
        self.table_name = "fm" + self.name.replace("-", "")
        self.project = f"fm-{self.name}"
        self.agent = "bot"
        self.repository = f"fm/{self.name}"
        if not self.hooks:
            self.hooks = [(self.receiver, f"/{self.name}")]
        service = TableServiceClient.from_connection_string(self.info.table_connection_string)
        service.create_table_if_not_exists(self.table_name)
        self.table = TableClient.from_connection_string(self.info.table_connection_string, self.table_name)
        self.config_path = self.config_dir / f"{self.name}.yaml"
        self.config_path.write_text(self._config())

    def _config(self) -> str:
        hooks = "".join(
            f"  - url: {receiver.url(path)}\n    secret: ${{WEBHOOK_SECRET}}\n"
            for receiver, path in self.hooks
        )
        return (
            f"registries: [{REGISTRY}]\n"
            "grant_runtime_role: false\n"
            "agents:\n"
            f"  - name: {self.agent}\n"
            f"    repository: {self.repository}\n"
            '    tags: "*"\n'
            + ("".join(f"    {line}\n" for line in self.agent_options) or "    keep_versions: 100\n")
            + f"webhooks:\n{hooks}"
        )

    @property
    def project_path(self) -> str:
        return f"/api/projects/{self.project}"

    # hosts

    def start_host(self, *, timers: bool = True) -> str:
        name = f"{self.name}-{len(self.hosts) + 1}"
        env = {
            "DEPLOYER_CONFIG": str(self.config_path),
            "DEPLOYER_TABLE_NAME": self.table_name,
            "FOUNDRY_PROJECT_ENDPOINT": f"{self.info.foundry_origin}{self.project_path}",
            "WEBHOOK_SECRET": SECRET,
            "POLL_SCHEDULE": "*/1 * * * * *",
        }
        self.hosts[name] = self.stack.start_devhost(name, env=env, run_timers=timers)
        return name

    def kill_host(self, name: str) -> None:
        """SIGKILL: no clean-up, no final writes."""
        self.stack.stop_process(name, kill=True)

    # Event Grid

    def push_event(self, tag: str) -> dict[str, Any]:
        event = image_pushed_event(f"{REGISTRY}/{self.repository}:{tag}")
        event["data"]["target"]["digest"] = "sha256:" + uuid.uuid4().hex * 2
        seed_pushed(self.info.registry_endpoint, self.info.foundry_ca_bundle, [event])
        self.pushes.append(event)
        return event

    def deliver(self, events: list[dict[str, Any]], *, host: str, timeout_s: float = 30.0) -> int | None:
        url = (
            f"{self.hosts[host]}/runtime/webhooks/eventgrid?functionName=on_image_pushed"
            f"&code={self.info.eventgrid_key}"
        )
        status, _ = call(
            "POST", url, body=events, headers={"aeg-event-type": "Notification"}, timeout_s=timeout_s
        )
        return status

    def redeliver(self, events: list[dict[str, Any]], *, host: str, attempts: int = 10) -> list[int | None]:
        """Event Grid's redelivery: the same payload again until it is acknowledged (bounded)."""
        answers: list[int | None] = []
        for _ in range(attempts):
            answers.append(self.deliver(events, host=host))
            if answers[-1] in (200, 202):
                break
            time.sleep(0.5)
        return answers

    # Table Storage and the emulator

    def rows(self, partition: str) -> list[dict[str, Any]]:
        return [dict(e) for e in self.table.query_entities(f"PartitionKey eq '{partition}'")]

    def records(self) -> list[dict[str, Any]]:
        return self._query("PartitionKey eq @pk and RowKey lt @below", below=RECORDS_BELOW)

    def open_work(self) -> dict[str, dict[str, Any]]:
        """The open-work rows, by deployment id."""
        rows = self._query(
            "PartitionKey eq @pk and RowKey ge @first and RowKey lt @end", first=OPEN, end=OPEN_END
        )
        return {row["RowKey"].removeprefix(OPEN): row for row in rows}

    def _query(self, query: str, **params: str) -> list[dict[str, Any]]:
        return [dict(e) for e in self.table.query_entities(query, parameters={"pk": RECORDS, **params})]

    def record_for(self, event: dict[str, Any]) -> dict[str, Any]:
        [record] = [r for r in self.records() if r.get("event_id") == event["id"]]
        return record

    def versions(self) -> list[dict[str, Any]]:
        url = f"{self.info.foundry_origin}{self.project_path}/agents/{self.agent}/versions"
        status, body = call(
            "GET",
            f"{url}?api-version=v1&limit=100",
            headers={"Authorization": f"Bearer {LOCAL_TOKEN}"},
            tls=self.tls,
        )
        if status == 404:
            return []
        assert status == 200, body
        assert not body["has_more"]
        return list(body["data"])

    def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        """This site's requests in the emulator's log (its project's, oldest first)."""
        status, body = call("GET", f"{self.info.foundry_origin}/_emulator/requests", tls=self.tls)
        assert status == 200, body
        return [
            r
            for r in body["requests"]
            if r["path"].startswith(self.project_path + "/") and (method is None or r["method"] == method)
        ]

    def creates(self) -> list[dict[str, Any]]:
        """``create_version`` calls received (faulted ones included), oldest first."""
        return [r for r in self.requests("POST") if r["path"].endswith(f"/agents/{self.agent}/versions")]

    def subscriber_keys(self) -> set[str]:
        return {Webhook(url=receiver.url(path)).key for receiver, path in self.hooks}


# -- settling and the invariants --------------------------------------------------------------


#: Leases: the poll's on open work, the sender's on queued notifications (see tracking/outbox).
POLL_LEASE_S, SEND_LEASE_S = 60.0, 300.0
#: A lease this old belongs to a process that died: live work holds one for well under a second.
DEAD_LEASE_AGE_S = 5.0
#: The longest legitimate short wait: the poll's backoff (30 s) and next look (30 s), with margin.
SHORT_WAIT_S = 35.0


def fast_forward(site: Site, *, only: Callable[[dict[str, Any]], bool] = lambda row: True) -> int:
    """Make rows due now that wait on a dead process's lease or on a retry minutes or hours
    away, as the passing of that time would: never a live lease (younger than 5 s), a short
    wait, or a row due more than two days ahead ("forever"). Each move is conditional on the
    row's ETag, so a row leased meanwhile is left to its sender. ``only`` narrows the rows.
    Returns how many rows were moved."""
    now = time.time()
    retries = {
        e["RowKey"]: float(e.get("next_attempt_at") or 0) for e in site.rows("n") if e["state"] == "pending"
    }
    moved = 0
    open_rows = site.table.query_entities(
        "PartitionKey eq @pk and RowKey ge @first and RowKey lt @end",
        parameters={"pk": RECORDS, "first": OPEN, "end": OPEN_END},
    )
    queued = site.table.query_entities("PartitionKey eq 'q'")
    for partition, rows, lease_s in ((RECORDS, open_rows, POLL_LEASE_S), ("q", queued, SEND_LEASE_S)):
        for row in rows:
            due = float(row["due"])
            wait = due - now
            dead_lease = SHORT_WAIT_S < wait <= lease_s - DEAD_LEASE_AGE_S
            retry = abs(retries.get(row["RowKey"], -1.0) - due) < 0.001
            long_retry = partition == "q" and retry and SHORT_WAIT_S < wait <= LONGEST_LEGITIMATE_WAIT_S
            if (dead_lease or long_retry) and only(dict(row)):
                entity = {"PartitionKey": partition, "RowKey": row["RowKey"], "due": now}
                with suppress(ResourceModifiedError):
                    site.table.update_entity(
                        entity,
                        mode=UpdateMode.MERGE,
                        etag=row.metadata["etag"],
                        match_condition=MatchConditions.IfNotModified,
                    )
                    moved += 1
    return moved


def settled(site: Site) -> bool:
    records = site.records()
    return (
        len(records) >= len(site.pushes)
        and all(r["status"] in TERMINAL for r in records)
        and not site.open_work()
        and not site.rows("q")
    )


def settle(site: Site, *, timeout_s: float = PENDING_GRACE_S + 60.0) -> None:
    """Let the dev hosts' poll and sender finish (bounded: a pending record waits out the
    poll's grace first); the invariants say what is left."""
    deadline = time.monotonic() + timeout_s
    while not settled(site) and time.monotonic() < deadline:
        fast_forward(site)
        time.sleep(0.5)


def history(record: dict[str, Any]) -> list[str]:
    return [t["status"] for t in json.loads(record.get("history") or "[]")]


def check_invariants(site: Site) -> None:
    """The four invariants of the fault matrix (see the module docstring), for every push
    delivered to the site."""
    pushes = site.pushes
    records = site.records()
    ids = {r["RowKey"] for r in records}

    # 1. every push has exactly one terminal record
    per_event = Counter(r.get("event_id") for r in records)
    assert {e["id"]: per_event[e["id"]] for e in pushes} == {e["id"]: 1 for e in pushes}, per_event
    assert set(per_event) == {e["id"] for e in pushes}, "records for events never delivered"
    open_records = {r["RowKey"]: r["status"] for r in records if r["status"] not in TERMINAL}
    assert open_records == {}, f"records not terminal: {open_records}"

    # 2. every agent version was created once
    versions = site.versions()
    owners = Counter(v.get("metadata", {}).get("deployer_deployment_id") for v in versions)
    twice = {owner: n for owner, n in owners.items() if n > 1}
    assert twice == {}, f"versions created more than once for deployments {twice}: {versions}"
    assert set(owners) <= ids, f"versions without a record: {set(owners) - ids}"
    by_number = {str(v["version"]): v for v in versions}
    for record in records:
        if "creating" in history(record) and not record.get("version_deleted_at"):  # not retention's
            assert record.get("version"), f"record {record['RowKey']} went creating without a version"
            owner = by_number[record["version"]]["metadata"]["deployer_deployment_id"]
            assert owner == record["RowKey"], f"record {record['RowKey']} shows another's version"

    # 3. every notification delivered or dead, and delivered ones reached the receiver
    keys = site.subscriber_keys()
    entries = {e["RowKey"]: e for e in site.rows("n")}
    expected = {
        f"{r['RowKey']}.{status}.{key}"
        for r in records
        for status in history(r)
        if status in NOTIFIED
        for key in keys
    }
    assert set(entries) == expected, {
        "missing": expected - set(entries),
        "unexpected": set(entries) - expected,
    }
    states = {
        entry_id: e["state"] for entry_id, e in entries.items() if e["state"] not in ("delivered", "dead")
    }
    assert states == {}, f"notifications neither delivered nor dead: {states}"
    hooks = {Webhook(url=receiver.url(path)).key: (receiver, path) for receiver, path in site.hooks}
    for entry in entries.values():
        if entry["state"] == "delivered":
            receiver, path = hooks[entry["subscriber"]]
            assert entry["event_id"] in receiver.ids(path), f"{entry['RowKey']} delivered but never received"

    # 4. nothing is pending forever
    assert site.open_work() == {}, "open work left"
    assert site.rows("q") == [], "queued notifications left"
    unflushed = {
        r["RowKey"]: events
        for r in records
        if (
            events := [e for e in json.loads(r.get("pending_events") or "[]") if e.split(".")[-1] in NOTIFIED]
        )
    }
    assert unflushed == {}, f"transitions whose events were never flushed: {unflushed}"
