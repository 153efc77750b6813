"""Notifications with the real adapters: the outbox on Azurite, Foundry on the emulator, webhooks
sent over real sockets to receivers on loopback, Event Grid publishing to a loopback HTTPS topic.
The service functions run in-process with a short retry schedule (no waiting hours)."""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableServiceClient
from standardwebhooks.webhooks import Webhook as Verifier

from deployer.adapters.credentials import StaticTokenCredential
from deployer.adapters.eventgrid_topic import EventGridTopicPublisher
from deployer.adapters.foundry import FoundryPlatform
from deployer.adapters.safe_http import SafeHttpTransport
from deployer.adapters.table_store import TableDeploymentStore
from deployer.config.parser import parse_config
from deployer.context import Context
from deployer.deploy.poll import poll_once
from deployer.deploy.start import handle_event
from deployer.domain.addresses import system_resolve
from deployer.domain.clock import SystemClock
from deployer.entrypoints.acr_events import parse_event
from deployer.notify.outbox import Delivery, deliver_due, notifications, redeliver
from deployer.notify.retry import RetrySchedule
from localdev.tls import ensure_local_tls
from tests.integration.receiver import SECRET, Receiver
from tests.registry_seed import pushed_event
from tests.unit.format_checks import check_slack, check_teams

FAST = RetrySchedule(offsets_s=(0, 0.2, 0.4, 0.8, 1.6, 3.2), jitter=0.1)
AGENTS = [
    {"name": "support-bot", "repository": "agents/support-bot", "tags": "semver:>=1.0.0 <2.0.0"},
    {"name": "echo", "repository": "agents/echo", "tags": "*"},
]


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def tls_files(stack):
    return ensure_local_tls(Path(stack.info.foundry_ca_bundle).parent)


def server_tls(tls_files) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls_files.cert_file), str(tls_files.key_file))
    return context


def make_ctx(stack, webhooks: list[dict[str, Any]], topic: dict[str, Any] | None = None) -> Context:
    service = TableServiceClient.from_connection_string(stack.info.table_connection_string)
    table = service.create_table(f"t{uuid.uuid4().hex[:12]}")
    raw: dict[str, Any] = {
        "registries": ["myregistry.azurecr.io"],
        "grant_runtime_role": False,
        "agents": AGENTS,
        "webhooks": webhooks,
    }
    if topic:
        raw["event_grid_topic"] = topic
    settings = {"WEBHOOKS_ALLOW_LOOPBACK": "true", "WEBHOOK_SECRET": SECRET}
    return Context(
        config=parse_config(raw, settings),
        store=TableDeploymentStore(table),
        platform=FoundryPlatform(StaticTokenCredential("test-token")),
        clock=SystemClock(),
        default_endpoint=f"{stack.info.foundry_origin}/api/projects/p{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture
def env(stack, http, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", stack.info.foundry_ca_bundle)
    return stack


def push(ctx: Context, image: str) -> list[Any]:
    return handle_event(ctx, parse_event(pushed_event(image)))


def settle(ctx: Context, *, rounds: int = 60) -> None:
    """Poll until nothing is open (bounded)."""
    for _ in range(rounds):
        poll_once(ctx, concurrency=4, budget_s=20)
        if not ctx.store.due(time.time() + 3600, 1):
            return
        time.sleep(0.25)


def drain(
    ctx: Context, delivery: Delivery, *, until: Callable[[], bool] | None = None, rounds: int = 60
) -> None:
    """Run sender ticks until the queue is empty (or ``until`` holds), bounded."""
    for _ in range(rounds):
        deliver_due(ctx, delivery)
        done = until() if until else not ctx.store.due_notifications(time.time() + 3600, 1)
        if done:
            return
        time.sleep(0.1)


def delivery_for(**changes: Any) -> Delivery:
    base = Delivery(webhooks=SafeHttpTransport(allow_loopback=True, read_timeout_s=5), schedule=FAST)
    return replace(base, **changes)


def cloud_hook(receiver: Receiver, path: str, **filters: Any) -> dict[str, Any]:
    return {"url": receiver.url(path), "secret": "${WEBHOOK_SECRET}", **filters}


def test_each_subscribed_transition_arrives_once_signed_and_filters_hold(env, receiver):
    ctx = make_ctx(
        env,
        [
            cloud_hook(receiver, "/all"),
            cloud_hook(receiver, "/active", events=["deployment.active"]),
            cloud_hook(receiver, "/echo", agents=["echo"]),
        ],
    )
    [bot] = push(ctx, "myregistry.azurecr.io/agents/support-bot:1.0.0")
    [echo] = push(ctx, "myregistry.azurecr.io/agents/echo:e1")
    settle(ctx)
    drain(ctx, delivery_for())
    seen = [(r.json["subject"], r.json["type"]) for r in receiver.at("/all")]
    assert sorted(seen) == sorted(
        [
            ("support-bot", "deployment.creating"),
            ("support-bot", "deployment.active"),
            ("echo", "deployment.creating"),
            ("echo", "deployment.active"),
        ]
    )
    assert sorted(r.json["subject"] for r in receiver.at("/active")) == ["echo", "support-bot"]
    assert {r.json["subject"] for r in receiver.at("/echo")} == {"echo"} and len(receiver.at("/echo")) == 2
    for request in receiver.received:
        event = Verifier(SECRET).verify(request.body, request.headers)
        assert (
            request.headers["webhook-id"] == event["id"] == f"{event['data']['id']}.{event['data']['status']}"
        )
        assert event["specversion"] == "1.0" and event["data"]["agent"] == event["subject"]
    active = next(r.json for r in receiver.at("/all") if r.json["id"] == f"{bot.id}.active")
    assert active["data"]["status"] == "active" and active["data"]["version"] == "1" and echo.id


def test_a_receiver_that_answers_503_for_a_while_gets_each_event_once_with_the_same_id(env, receiver):
    receiver.answer("/flaky", 503, 503, (503, {"Retry-After": "0"}, b""), 200)
    ctx = make_ctx(env, [cloud_hook(receiver, "/flaky", events=["deployment.creating"])])
    [echo] = push(ctx, "myregistry.azurecr.io/agents/echo:flaky-1")
    drain(ctx, delivery_for())
    got = receiver.at("/flaky")
    assert [r.headers["webhook-id"] for r in got] == [f"{echo.id}.creating"] * 4
    for request in got:  # each attempt is signed afresh, for its own timestamp
        assert Verifier(SECRET).verify(request.body, request.headers)["id"] == f"{echo.id}.creating"
    [entry] = notifications(ctx)
    assert entry.state == "delivered" and entry.attempts == 4 and entry.last_result == "200"


def test_410_sends_the_entry_to_dead_and_redelivery_works(env, receiver):
    receiver.answer("/gone", 410)
    ctx = make_ctx(env, [cloud_hook(receiver, "/gone")])
    [echo] = push(ctx, "myregistry.azurecr.io/agents/echo:gone-1")
    drain(ctx, delivery_for())
    [dead] = notifications(ctx, state="dead")
    assert dead.last_result == "410" and len(receiver.at("/gone")) == 1
    receiver.answer("/gone", 200)
    redeliver(ctx, dead.id)
    drain(ctx, delivery_for())
    assert [r.headers["webhook-id"] for r in receiver.at("/gone")] == [f"{echo.id}.creating"] * 2
    assert ctx.store.get_notification(dead.id).state == "delivered"
    assert notifications(ctx, state="dead") == []


def test_redirects_are_not_followed_and_timeouts_and_big_answers_are_bounded(env, receiver):
    receiver.answer("/moved", (302, {"Location": receiver.url("/elsewhere")}, b""), 200)
    receiver.answer("/big", (200, {}, b"x" * 5_000_000))
    ctx = make_ctx(env, [cloud_hook(receiver, "/moved"), cloud_hook(receiver, "/big")])
    push(ctx, "myregistry.azurecr.io/agents/echo:redirect-1")
    drain(ctx, delivery_for())
    assert len(receiver.at("/moved")) == 2 and receiver.at("/elsewhere") == []
    assert {e.state for e in notifications(ctx)} == {"delivered"}
    transport = SafeHttpTransport(allow_loopback=True, read_timeout_s=0.3)
    receiver.delay_s = 1.0
    assert transport.post(receiver.url("/slow"), b"{}", {}).error == "timeout"


def test_internal_addresses_are_refused_at_send_time(env, receiver):
    """The name passed the config check (it resolved to a public address then) but resolves to an
    internal one when sending: nothing is sent, the entry is dead."""
    dns = {"hooks.example.com": ["93.184.216.34"]}
    ctx = make_ctx(env, [])
    hooks = {"webhooks": [{"url": "https://hooks.example.com/x", "secret": SECRET}], "agents": AGENTS}
    config = parse_config(
        {"registries": ["myregistry.azurecr.io"], "grant_runtime_role": False, **hooks}, {}, resolver=dns.get
    )
    ctx = replace(ctx, config=config)
    push(ctx, "myregistry.azurecr.io/agents/echo:rebind-1")
    for address in ("169.254.169.254", "10.0.0.8", "127.0.0.1"):
        dns["hooks.example.com"] = [address]
        transport = SafeHttpTransport(allow_loopback=False, resolver=dns.__getitem__)
        assert transport.post("https://hooks.example.com/x", b"{}", {}).error == "address_refused"
    drain(ctx, delivery_for(webhooks=SafeHttpTransport(allow_loopback=False, resolver=dns.__getitem__)))
    [entry] = notifications(ctx)
    assert entry.state == "dead" and entry.last_result == "address_refused"
    strict = SafeHttpTransport(allow_loopback=False)
    assert strict.post(receiver.url("/x"), b"{}", {}).error == "address_refused"
    assert (
        strict.post(receiver.url("/x", host="localhost").replace("http:", "https:"), b"{}", {}).error
        == "address_refused"
    )
    assert receiver.received == []


def test_the_sender_connects_to_the_address_it_checked(env, tls_files):
    """The name resolves (by the sender's resolver) to 127.0.0.2, where the receiver is; the
    system would resolve it to 127.0.0.1, where nothing listens. TLS is still checked for the name."""
    pinned = Receiver(tls=server_tls(tls_files), host="127.0.0.2")
    try:
        client = ssl.create_default_context(cafile=str(tls_files.ca_bundle))
        transport = SafeHttpTransport(allow_loopback=True, resolver=lambda host: ["127.0.0.2"], tls=client)
        attempt = transport.post(
            pinned.url("/pinned", host="localhost"), b"{}", {"Content-Type": "application/json"}
        )
        assert attempt.status == 200 and len(pinned.at("/pinned")) == 1
        assert pinned.at("/pinned")[0].headers["host"].startswith("localhost:")
        untrusted = SafeHttpTransport(allow_loopback=True, resolver=lambda host: ["127.0.0.2"])
        assert untrusted.post(pinned.url("/pinned", host="localhost"), b"{}", {}).error == "tls_error"
    finally:
        pinned.close()


def test_slack_and_teams_bodies_match_their_schemas(env, receiver):
    ctx = make_ctx(
        env,
        [
            {"url": receiver.url("/slack"), "format": "slack"},
            {"url": receiver.url("/teams"), "format": "teams"},
        ],
    )
    push(ctx, "myregistry.azurecr.io/agents/support-bot:3.0.0")  # outside the policy: skipped
    drain(ctx, delivery_for(links_base="https://deployer.example.net"))
    [slack_request], [teams_request] = receiver.at("/slack"), receiver.at("/teams")
    check_slack(slack_request.json)
    check_teams(teams_request.json)
    assert "webhook-signature" not in slack_request.headers
    assert "skipped" in slack_request.json["text"] and "tag_policy" in json.dumps(teams_request.json)


def test_event_grid_publishing_sends_the_cloudevents_batch_the_topic_expects(env, tls_files):
    topic = Receiver(tls=server_tls(tls_files))
    try:
        endpoint = topic.url("/api/events")
        ctx = make_ctx(env, [], topic={"endpoint": endpoint, "events": ["deployment.creating"]})
        publisher = EventGridTopicPublisher(
            StaticTokenCredential("eventgrid-token"), allow_loopback=True, resolver=system_resolve
        )
        topic.answer("/api/events", 503, 200)
        [echo] = push(ctx, "myregistry.azurecr.io/agents/echo:topic-1")
        drain(ctx, delivery_for(topics=publisher))
        first, second = topic.at("/api/events")
        assert first.body == second.body
        assert second.path.startswith("/api/events?api-version=")
        assert second.headers["content-type"] == "application/cloudevents-batch+json; charset=utf-8"
        assert second.headers["authorization"] == "Bearer eventgrid-token"
        [event] = second.json
        assert event["specversion"] == "1.0" and event["id"] == f"{echo.id}.creating"
        assert event["type"] == "deployment.creating" and event["subject"] == "echo"
        assert event["source"] == "/agent-deployer/deployments" and event["data"]["status"] == "creating"
        assert event["time"].startswith(echo.updated_at[:19])
        [entry] = notifications(ctx)
        assert entry.channel == "eventgrid" and entry.state == "delivered" and entry.attempts == 2
    finally:
        topic.close()


def test_two_senders_at_once_never_deliver_an_entry_twice(env, receiver):
    ctx = make_ctx(env, [cloud_hook(receiver, "/many")])
    for n in range(20):
        push(ctx, f"myregistry.azurecr.io/agents/echo:many-{n}")
    senders = [threading.Thread(target=deliver_due, args=(ctx, delivery_for())) for _ in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    drain(ctx, delivery_for())
    ids = [r.headers["webhook-id"] for r in receiver.at("/many")]
    assert len(ids) == len(set(ids)) == 20
