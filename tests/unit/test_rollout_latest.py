"""Rollouts on an agent whose selector names ``@latest`` (the platform's default), the protocols
of the agent's endpoint, an unknown project and a smoke reply from another version, through the
poll with hand-written fakes."""

import json
from dataclasses import replace

import pytest

from deployer.context import Context
from deployer.deploy import rollback
from deployer.deploy.poll import poll_once
from deployer.deploy.start import handle_event
from deployer.domain.pushes import ImagePush, ReceivedEvent
from deployer.domain.rollout import LATEST
from deployer.domain.rollout_state import traffic_of
from deployer.ports import InvokeReply
from deployer.rollout import canary, settle
from tests.unit.builders import context_for
from tests.unit.conftest import PROJECT_ID, REGISTRY

SMOKE = {"input": "Reply with READY", "expect": {"contains": "READY"}, "attempts": 1}
CANARY = {"strategy": "canary", "steps": [10, 50, 100], "step_interval_s": 60}
INVOKE = {"protocol": "invocations", "input": {"task": "ping"}, "expect": {"status": 200}, "attempts": 1}
CONFIG = {
    "registries": [REGISTRY],
    "project_resource_id": PROJECT_ID,
    "agents": [
        {"name": "vbot", "repository": "agents/vbot", "smoke_test": SMOKE},
        {"name": "cbot", "repository": "agents/cbot", "smoke_test": SMOKE, "rollout": CANARY},
        {"name": "ibot", "repository": "agents/ibot"},
        {
            "name": "worker",
            "repository": "agents/worker",
            "protocols": {"invocations": "1.0.0"},
            "smoke_test": INVOKE,
        },
    ],
}
ALL_LATEST = traffic_of([(LATEST, 100)])


@pytest.fixture
def ctx() -> Context:
    return context_for(CONFIG)


def push(ctx, agent, n):
    image = ImagePush(
        registry=REGISTRY,
        repository=f"agents/{agent}",
        tag=f"v{n}",
        digest=f"sha256:{n:064x}",
        event_id=f"e{n}",
    )
    [record] = handle_event(
        ctx, ReceivedEvent(kind="push", event_id=image.event_id, event_type="x", topic="", push=image)
    )
    return record


def up(ctx, record, ticks=4):
    """The record's version is active; the poll runs ``ticks`` times."""
    ctx.platform.set_status(record.agent, ctx.store.records[record.id].version, "active")
    for _ in range(ticks):
        ctx.clock.advance(5)
        poll_once(ctx, concurrency=4, budget_s=20)
    return ctx.store.records[record.id]


def deploy_on_latest(ctx, agent):
    """Version 1 deployed and active, the selector back on the platform's default ``@latest``."""
    first = up(ctx, push(ctx, agent, 1))
    ctx.platform.traffic[agent] = ALL_LATEST
    ctx.platform.calls.clear()
    return first


def writes(ctx, agent):
    return [
        what
        for call, name, what in ctx.platform.calls
        if call in ("set_traffic", "create_version") and name == agent
    ]


def test_latest_is_pinned_to_the_serving_version_before_the_new_one_is_created(ctx):
    deploy_on_latest(ctx, "vbot")
    second = push(ctx, "vbot", 2)
    assert writes(ctx, "vbot") == ["1:100", f"{REGISTRY}/agents/vbot:v2"]
    assert [(r.version, r.percentage) for r in second.traffic_before] == [("1", 100)]
    assert up(ctx, second).status == "verified" and ctx.platform.traffic["vbot"] == traffic_of([("2", 100)])


def test_a_failed_smoke_test_leaves_the_traffic_on_the_version_latest_named(ctx):
    deploy_on_latest(ctx, "vbot")
    second = push(ctx, "vbot", 2)
    ctx.platform.replies[("vbot", "2")] = InvokeReply(status_code=500, body="down", latency_ms=1.0)
    assert up(ctx, second).status == "unhealthy"
    assert ctx.platform.traffic["vbot"] == traffic_of([("1", 100)])


def test_a_verified_version_that_latest_already_names_gets_its_number_written(ctx):
    first = up(ctx, push(ctx, "vbot", 1))
    assert first.status == "verified" and ctx.platform.traffic["vbot"] == traffic_of([("1", 100)])
    ctx.platform.traffic.clear()
    ctx.platform.traffic["vbot"] = ALL_LATEST  # a new agent: nothing to pin, @latest names ours
    second = push(ctx, "vbot", 2)
    ctx.platform.traffic["vbot"] = ALL_LATEST
    assert up(ctx, second).status == "verified"
    assert ctx.platform.traffic["vbot"] == traffic_of([("2", 100)])


def test_a_canary_on_latest_splits_with_the_version_that_served_and_an_abort_goes_back_to_it(ctx):
    deploy_on_latest(ctx, "cbot")
    second = up(ctx, push(ctx, "cbot", 2), ticks=1)
    assert second.status == "canary" and second.canary.stable == "1"
    assert ctx.platform.traffic["cbot"] == traffic_of([("2", 10), ("1", 90)])
    ctx.platform.traffic["cbot"] = traffic_of([("2", 10), (LATEST, 90)])  # someone meddles
    canary.abort_deployment(
        ctx, ctx.config.agent("cbot"), ctx.store.records[second.id], reason="aborted", hold=False
    )
    assert ctx.platform.traffic["cbot"] == traffic_of([("1", 100)])


def test_immediate_keeps_latest_at_100_percent(ctx):
    ctx.platform.traffic["ibot"] = ALL_LATEST
    assert up(ctx, push(ctx, "ibot", 1)).status == "active"
    assert ctx.platform.count("set_traffic") == 0 and ctx.platform.traffic["ibot"] == ALL_LATEST


def test_a_rollback_by_traffic_on_latest_writes_the_version_by_number(ctx):
    first = up(ctx, push(ctx, "vbot", 1))
    up(ctx, push(ctx, "vbot", 2))
    ctx.platform.traffic["vbot"] = ALL_LATEST
    back = rollback.rollback_by_traffic(ctx, ctx.config.agent("vbot"), first, requested_by="ops")
    assert back.status == "active" and ctx.platform.traffic["vbot"] == traffic_of([("1", 100)])


def test_retention_keeps_the_version_latest_names(ctx):
    first = up(ctx, push(ctx, "vbot", 1))
    up(ctx, push(ctx, "vbot", 2))
    up(ctx, push(ctx, "vbot", 3))
    [newest] = [v for v in ctx.platform.versions["vbot"] if v.info.version == "3"]
    newest.info = replace(newest.info, draft=True)  # so @latest names version 2
    ctx.platform.traffic["vbot"] = ALL_LATEST
    settle.retain(ctx, replace(ctx.config.agent("vbot"), keep_versions=1), first)
    assert ctx.platform.count("delete_version") == 0


def test_an_invocations_agent_gets_its_protocol_served_before_its_smoke_test(ctx):
    record = up(ctx, push(ctx, "worker", 1))
    assert record.status == "verified"
    calls = [c[0] for c in ctx.platform.calls if c[0] in ("set_protocols", "invoke")]
    assert calls == ["set_protocols", "invoke"]
    assert ctx.platform.protocols["worker"] == frozenset({"responses", "invocations"})
    up(ctx, push(ctx, "worker", 2))
    assert ctx.platform.count("set_protocols") == 1  # served already: not written again


def test_a_responses_agent_leaves_the_protocols_alone(ctx):
    up(ctx, push(ctx, "vbot", 1))
    assert ctx.platform.count("set_protocols") == 0


def test_an_unknown_project_fails_the_deployment_naming_the_endpoint_with_no_version(ctx):
    ctx.platform.missing_projects.add(ctx.default_endpoint)
    record = push(ctx, "vbot", 1)
    assert record.status == "failed" and record.error.code == "ProjectNotFound"
    assert ctx.default_endpoint in record.error.message and "FOUNDRY_PROJECT_ENDPOINT" in record.error.hint
    assert ctx.platform.count("create_version") == 0


def test_a_smoke_reply_from_another_version_fails_and_names_it(ctx):
    deploy_on_latest(ctx, "vbot")
    second = push(ctx, "vbot", 2)
    reply = {
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "READY"}]}],
        "agent_reference": {"type": "agent_reference", "name": "vbot", "version": "1"},
    }
    body = json.dumps(reply)
    ctx.platform.replies[("vbot", "2")] = InvokeReply(status_code=200, body=body, latency_ms=1.0)
    done = up(ctx, second)
    assert done.status == "unhealthy" and done.smoke.answered_by == "1"
    assert done.smoke.detail == "version 1 answered, not version 2"
