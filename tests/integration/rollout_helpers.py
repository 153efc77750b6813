"""Shared parts of the verified and canary rollout tests: the configuration, a context on the
real Azure SDKs against the stand-ins, and pushes, polls and reads of the agent's selector."""

from __future__ import annotations

import base64
import time
import uuid
from urllib.parse import unquote

from azure.ai.projects import AIProjectClient
from azure.data.tables import TableServiceClient

from deployer.adapters.arm_roles import AzureRoleAssignments
from deployer.adapters.credentials import StaticTokenCredential
from deployer.adapters.foundry import FoundryPlatform
from deployer.adapters.table_store import TableDeploymentStore
from deployer.config.parser import parse_config
from deployer.context import Context
from deployer.deploy.poll import poll_once
from deployer.deploy.start import handle_event
from deployer.entrypoints.acr_events import parse_event
from tests.registry_seed import pushed_event

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


def rollout_context(stack, http, monkeypatch, emulator_settings):
    """A context on a fresh table and project, over the real SDKs; a generator for a fixture."""
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
    [record] = handle_event(ctx, parse_event(pushed_event(image(agent, tag))))
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
