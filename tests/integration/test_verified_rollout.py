"""Verified rollouts with the real adapters: Table Storage on Azurite, Foundry on its emulator
(version selector, per-version addressing by ``agent_reference``), role grants on the ARM
emulator. Traffic is checked on the emulator's selector and by calling the agent unpinned."""

from __future__ import annotations

import base64
import time
import uuid
from urllib.parse import unquote

import pytest
from azure.ai.projects import AIProjectClient
from azure.data.tables import TableServiceClient

from deployer.adapters.arm_roles import AzureRoleAssignments
from deployer.adapters.credentials import StaticTokenCredential
from deployer.adapters.foundry import FoundryPlatform
from deployer.adapters.table_store import TableDeploymentStore
from deployer.cli.simulate import image_pushed_event
from deployer.config.parser import parse_config
from deployer.context import Context
from deployer.deploy import rollback
from deployer.deploy.poll import poll_once
from deployer.deploy.start import handle_event
from deployer.entrypoints.acr_events import parse_event
from deployer.rollout import holds

pytestmark = pytest.mark.integration
REGISTRY = "myregistry.azurecr.io"
PROJECT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000003/resourceGroups/rg/providers/"
    "Microsoft.CognitiveServices/accounts/foundry/projects/verified"
)
READY = {"input": "Reply with the word READY", "expect": {"status": 200, "contains": "READY"}, "attempts": 2}
CONFIG = {
    "registries": [REGISTRY],
    "project_resource_id": PROJECT_ID,
    "agents": [
        {"name": "chat", "repository": "agents/chat", "smoke_test": READY},
        {
            "name": "worker",
            "repository": "agents/worker",
            "protocols": {"invocations": "1.0.0"},
            "smoke_test": {
                "protocol": "invocations",
                "input": {"task": "ping"},
                "expect": {
                    "json_path": "$.output",
                    "equals": "Agent 'worker' (version 2) handled the invocation.",
                },
                "attempts": 1,
            },
        },
        {
            "name": "modeled",
            "repository": "agents/modeled",
            "smoke_test": READY,
            "environment_variables": {"MODEL_DEPLOYMENT_NAME": "gpt-5-mini"},
            "preflight": {"connections": ["search"]},
        },
        {
            "name": "slow",
            "repository": "agents/slow",
            "smoke_test": {**READY, "timeout_s": 1, "attempts": 1},
        },
    ],
    "webhooks": [
        {"url": "https://hooks.example.com/agents", "secret": "whsec_" + base64.b64encode(b"k" * 32).decode()}
    ],
}


class SteppedClock:
    """The system time plus an offset the test moves on, so that polls come due at once."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def ctx(stack, http, monkeypatch, emulator_settings):
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):  # azure-core, and httpx under the OpenAI client
        monkeypatch.setenv(name, stack.info.foundry_ca_bundle)
    service = TableServiceClient.from_connection_string(stack.info.table_connection_string)
    credential = StaticTokenCredential("test-token")
    yield Context(
        config=parse_config(CONFIG, {}, resolver=lambda host: ["93.184.216.34"]),
        store=TableDeploymentStore(service.create_table(f"t{uuid.uuid4().hex[:12]}")),
        platform=FoundryPlatform(credential),
        clock=SteppedClock(),
        default_endpoint=f"{stack.info.foundry_origin}/api/projects/v{uuid.uuid4().hex[:8]}",
        roles=AzureRoleAssignments(credential, endpoint=stack.info.arm_endpoint, retry_total=0),
    )
    emulator_settings(image_replies={}, model_deployments=None, connections=None)


def image(agent, tag):
    return f"{REGISTRY}/agents/{agent}:{tag}"


def push(ctx, agent, tag):
    [record] = handle_event(ctx, parse_event(image_pushed_event(image(agent, tag))))
    return record


def settle(ctx, *, rounds=30):
    """Poll, 10 s of deployer time a round, until nothing is open."""
    for _ in range(rounds):
        ctx.clock.offset += 10
        poll_once(ctx, concurrency=4, budget_s=20)
        if not ctx.store.due(ctx.clock.now() + 3600, 1):
            return
        time.sleep(0.2)  # the emulator provisions in real time


def deploy(ctx, agent, tag):
    record = push(ctx, agent, tag)
    settle(ctx)
    return ctx.store.get(record.id)


def project(ctx):
    return AIProjectClient(
        endpoint=ctx.default_endpoint, credential=StaticTokenCredential("t"), allow_preview=True
    )


def selector(ctx, agent):
    rules = project(ctx).agents.get(agent)["agent_endpoint"]["version_selector"]["version_selection_rules"]
    return [(r["agent_version"], r["traffic_percentage"]) for r in rules]


def answered_by(ctx, agent):
    """The version that serves an unpinned Responses call (routed by the selector)."""
    client = project(ctx).get_openai_client(agent_name=agent, max_retries=0)
    return client.responses.with_raw_response.create(input="hi").headers["x-ms-agent-version"]


def calls(http, ctx, agent):
    """The emulator's log for this project and agent: (method, what) in order."""
    prefix = unquote(ctx.default_endpoint.split("/api/projects/")[1])
    found = []
    for r in http.emulator("GET", "requests")["requests"]:
        if f"/api/projects/{prefix}/agents/{agent}" not in r["path"]:
            continue
        body = r["body"] or {}
        rules = ((body.get("agent_endpoint") or {}).get("version_selector") or {}).get(
            "version_selection_rules"
        )
        if r["method"] == "PATCH":
            found.append(
                ("selector", rules and tuple((x["agent_version"], x["traffic_percentage"]) for x in rules))
            )
        elif r["method"] == "POST" and r["path"].endswith("/versions"):
            found.append(("create", None))
        elif r["method"] == "POST" and "/endpoint/protocols/" in r["path"]:
            found.append(("call", (body.get("agent_reference") or {}).get("version")))
    return found


def notified(ctx, record):
    return sorted(
        e.event_type for e in ctx.store.list_notifications(limit=200) if e.deployment_id == record.id
    )


def test_traffic_stays_on_the_old_version_until_the_smoke_test_passes_then_moves(ctx, http):
    first = deploy(ctx, "chat", "1.0.0")
    assert first.status == "verified" and selector(ctx, "chat") == [("1", 100)]
    # Without a selector the platform routes to the newest active version: the new one, once up.
    project(ctx).agents.update_details("chat", {"agent_endpoint": {"version_selector": None}})
    second = deploy(ctx, "chat", "1.1.0")
    assert second.status == "verified" and second.smoke.status == "passed" and second.smoke.attempts == 1
    assert [h.status for h in second.history] == ["pending", "creating", "verifying", "verified"]
    assert second.traffic_before is not None and [
        (r.version, r.percentage) for r in second.traffic_before
    ] == [("1", 100)]
    # Version 1 is pinned before version 2 is created; version 2 answers its smoke test by
    # agent_reference, and only then gets the traffic.
    assert calls(http, ctx, "chat") == [
        ("create", None),
        ("call", "1"),
        ("selector", (("1", 100),)),
        ("selector", None),
        ("selector", (("1", 100),)),
        ("create", None),
        ("call", "2"),
        ("selector", (("2", 100),)),
    ]
    assert selector(ctx, "chat") == [("2", 100)] and answered_by(ctx, "chat") == "2"
    assert ctx.store.get(first.id).status == "superseded"
    assert "deployment.verified" in notified(ctx, second)


def test_a_failed_smoke_test_leaves_the_traffic_notifies_unhealthy_and_holds_the_digest(
    ctx, http, emulator_settings
):
    deploy(ctx, "chat", "2.0.0")
    emulator_settings(image_replies={image("chat", "2.1.0"): {"status": 500, "text": "model not reachable"}})
    bad = deploy(ctx, "chat", "2.1.0")
    assert bad.status == "unhealthy" and bad.error.code == "smoke_test_failed"
    assert (
        bad.smoke.attempts == 2
        and bad.smoke.http_status == 500
        and "model not reachable" in bad.smoke.excerpt
    )
    assert "traffic stayed on version 1" in bad.error.message
    assert selector(ctx, "chat") == [("1", 100)] and answered_by(ctx, "chat") == "1"
    assert ("selector", (("2", 100),)) not in calls(http, ctx, "chat")
    assert "deployment.unhealthy" in notified(ctx, bad)
    again = handle_event(ctx, parse_event(image_pushed_event(image("chat", "2.1.0"), digest=bad.digest)))
    assert [(r.status, r.reason) for r in again] == [("skipped", "held")]


def test_the_invocations_protocol_is_smoke_tested_on_its_own_endpoint(ctx, http, emulator_settings):
    deploy(ctx, "worker", "1")
    good = deploy(ctx, "worker", "2")
    assert good.status == "verified" and selector(ctx, "worker") == [("2", 100)]
    assert ("call", "2") in calls(http, ctx, "worker")
    emulator_settings(image_replies={image("worker", "3"): {"text": "I am broken"}})
    bad = deploy(ctx, "worker", "3")
    assert bad.status == "unhealthy" and "$.output is" in bad.smoke.detail
    assert selector(ctx, "worker") == [("2", 100)]


def test_a_slow_agent_times_out_its_smoke_test(ctx, emulator_settings):
    deploy(ctx, "slow", "1")
    emulator_settings(image_replies={image("slow", "2"): {"delay_s": 3}})
    bad = deploy(ctx, "slow", "2")
    assert bad.status == "unhealthy" and bad.smoke.detail == "no answer within 1 s"
    assert selector(ctx, "slow") == [("1", 100)]


def test_a_crash_between_moving_traffic_and_recording_it_converges(ctx, http, monkeypatch):
    deploy(ctx, "chat", "3.0.0")
    store, original, together = ctx.store, ctx.store.update, ctx.store.update_together
    died = []

    def dies_once_after_the_traffic_moved(deployments):
        if any(d.status == "verified" and d.version == "2" for d in deployments) and not died:
            died.append(True)
            raise SystemExit("process killed")

    def update(deployment):
        dies_once_after_the_traffic_moved([deployment])
        return original(deployment)

    def update_together(deployments):  # the takeover and the supersede are one write
        dies_once_after_the_traffic_moved(deployments)
        return together(deployments)

    monkeypatch.setattr(store, "update", update)
    monkeypatch.setattr(store, "update_together", update_together)
    record = push(ctx, "chat", "3.1.0")
    with pytest.raises(SystemExit):
        settle(ctx)
    assert store.get(record.id).status == "verifying" and selector(ctx, "chat") == [("2", 100)]
    ctx.clock.offset += 120  # the dead tick's lease ends
    settle(ctx)
    done = store.get(record.id)
    assert done.status == "verified" and "already had the traffic" in done.history[-1].note
    log = calls(http, ctx, "chat")
    assert log.count(("selector", (("2", 100),))) == 1 and log.count(("call", "2")) == 1


def test_a_rollback_by_traffic_is_instant_and_later_pushes_of_the_digest_are_held(ctx, http):
    first = deploy(ctx, "chat", "4.0.0")
    second = deploy(ctx, "chat", "4.1.0")
    created = [c for c in calls(http, ctx, "chat") if c[0] == "create"]
    back = rollback.rollback_by_traffic(ctx, ctx.config.agent("chat"), first, requested_by="ops")
    assert back.status == "active" and back.version == "1"
    assert [c for c in calls(http, ctx, "chat") if c[0] == "create"] == created
    assert selector(ctx, "chat") == [("1", 100)] and answered_by(ctx, "chat") == "1"
    assert ctx.store.get(second.id).status == "superseded"
    again = handle_event(ctx, parse_event(image_pushed_event(image("chat", "4.1.0"), digest=second.digest)))
    assert [(r.status, r.reason) for r in again] == [("skipped", "held")]
    holds.pause(ctx, "chat", by="ops")
    assert push(ctx, "chat", "4.2.0").reason == "paused"


def test_a_failed_preflight_names_what_is_missing_and_creates_no_version(ctx, http, emulator_settings):
    emulator_settings(model_deployments=["gpt-4o"], connections=["search"])
    failed = deploy(ctx, "modeled", "1")
    assert failed.status == "failed" and failed.error.code == "preflight_failed"
    assert "no model deployment 'gpt-5-mini'" in failed.error.message
    assert calls(http, ctx, "modeled") == []  # no version, no selector change
    emulator_settings(model_deployments=["gpt-4o", "gpt-5-mini"])
    assert deploy(ctx, "modeled", "2").status == "verified"
