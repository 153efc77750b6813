"""Shared builders of the unit tests: pushes, poll ticks and the flows that bring a version up
(verified, canary), on the hand-written fakes."""

from __future__ import annotations

import base64

from deployer.config.parser import parse_config
from deployer.context import Context
from deployer.deploy.poll import poll_once
from deployer.deploy.start import handle_event
from deployer.domain.pushes import ImagePush, ReceivedEvent
from tests.unit.conftest import DIGEST, PROJECT_ID, REGISTRY
from tests.unit.fakes import FakeClock, FakePlatform, FakeRoleAssignments, FakeStore


def pushed(tag, *, digest=DIGEST, repository="agents/support-bot", event_id=None, registry=REGISTRY):
    push = ImagePush(
        registry=registry,
        repository=repository,
        tag=tag,
        digest=digest,
        event_id=event_id or f"evt-{tag}-{digest[-4:]}",
    )
    return ReceivedEvent(kind="push", event_id=push.event_id, event_type="x", topic="", push=push)


def digest_for(n):
    return "sha256:" + f"{n:064x}"


def push(ctx, tag, n, agent="vbot", event_id=None):
    event = pushed(tag, digest=digest_for(n), repository=f"agents/{agent}", event_id=event_id)
    [record] = [d for d in handle_event(ctx, event) if d.agent == agent]
    return record


def tick(ctx, seconds=5.0):
    ctx.clock.advance(seconds)
    return poll_once(ctx, concurrency=4, budget_s=20)


def releases(ctx, count, agent="support-bot"):
    """``agent`` at 1.0.0 … 1.<count - 1>.0, each made active in turn 30 s apart; the records as
    stored after the last."""
    records = []
    for n in range(count):
        records.append(push(ctx, f"1.{n}.0", n, agent=agent))
        ctx.platform.set_status(agent, str(n + 1), "active")
        tick(ctx, 30)
    return [ctx.store.records[r.id] for r in records]


def serving(ctx, agent="vbot"):
    return [(r.version, r.percentage) for r in ctx.platform.traffic.get(agent, ())]


def run(ctx, ticks, seconds=5.0):
    for _ in range(ticks):
        tick(ctx, seconds)


def live(ctx, record, agent="vbot"):
    """Bring the record's version up and run the poll past its smoke test and first step."""
    ctx.platform.set_status(agent, ctx.store.records[record.id].version, "active")
    run(ctx, 3)
    return ctx.store.records[record.id]


def stable_then_canary(ctx, agent="vbot"):
    first = live(ctx, push(ctx, "v1", 1, agent=agent), agent)
    assert first.status == "verified" and serving(ctx, agent) == [("1", 100)]
    return live(ctx, push(ctx, "v2", 2, agent=agent), agent)


def deployment(status, *, version="3", history=None, error=None, smoke=None):
    return {
        "smoke": smoke,
        "id": "0123",
        "agent": "bot",
        "image": "r.azurecr.io/agents/bot:1.0.0",
        "status": status,
        "version": version,
        "source": "manual",
        "reason": None,
        "requested_by": None,
        "error": error,
        "time_to_active_s": 4.25 if status == "active" else None,
        "created_at": "2026-11-25T06:34:44.123Z",
        "updated_at": "2026-11-25T06:34:48.123Z",
        "history": history or [{"status": status, "at": "2026-11-25T06:34:44.123Z"}],
    }


SMOKE_ONCE = {
    "protocol": "responses",
    "input": "Reply with READY",
    "expect": {"contains": "READY"},
    "attempts": 1,
}
CANARY = {
    "strategy": "canary",
    "steps": [10, 50, 100],
    "step_interval_s": 30,
    "abort_if": {"smoke_failures": 1},
}
CANARY_CONFIG = {
    "registries": [REGISTRY],
    "project_resource_id": PROJECT_ID,
    "agents": [
        {"name": "vbot", "repository": "agents/vbot", "smoke_test": SMOKE_ONCE, "rollout": CANARY},
        {
            "name": "tolerant",
            "repository": "agents/tolerant",
            "smoke_test": SMOKE_ONCE,
            "rollout": {**CANARY, "abort_if": {"smoke_failures": 2}},
        },
    ],
    "webhooks": [
        {"url": "https://hooks.example.com/all", "secret": "whsec_" + base64.b64encode(b"q" * 32).decode()}
    ],
}
PROD = "https://example.services.ai.azure.com/api/projects/prod"
PROMOTION_CONFIG = {
    "registries": [REGISTRY],
    "project_resource_id": PROJECT_ID,
    "agents": [
        {
            "name": "vbot",
            "repository": "agents/vbot",
            "smoke_test": SMOKE_ONCE,
            "promote_to": {"agent": "vbot-prod", "project_endpoint": PROD},
        },
        {"name": "vbot-prod", "repository": "agents/vbot-prod", "smoke_test": SMOKE_ONCE, "rollout": CANARY},
    ],
    "webhooks": [
        {"url": "https://hooks.example.com/all", "secret": "whsec_" + base64.b64encode(b"q" * 32).decode()}
    ],
}

#: ``vbot`` waits for approval (an hour); ``gated`` (canary) waits before its 100% step too.
APPROVAL_CONFIG = {
    "registries": [REGISTRY],
    "project_resource_id": PROJECT_ID,
    "agents": [
        {
            "name": "vbot",
            "repository": "agents/vbot",
            "approval": {"required": True, "expires_after_s": 3600},
        },
        {
            "name": "gated",
            "repository": "agents/gated",
            "smoke_test": SMOKE_ONCE,
            "rollout": {**CANARY, "steps": [10, {"approve": True}, 100]},
            "approval": {"approvers": ["release-managers"]},
        },
    ],
    "webhooks": CANARY_CONFIG["webhooks"],
}


DEFAULT_ENDPOINT = "https://example.services.ai.azure.com/api/projects/p"


def context_for(
    config: dict, endpoint: str = "https://example.services.ai.azure.com/api/projects/p"
) -> Context:
    """A context for ``config`` on fresh fakes (registry hosts resolve to a public address)."""
    return Context(
        config=parse_config(config, {}, resolver=lambda host: ["93.184.216.34"]),
        store=FakeStore(),
        platform=FakePlatform(),
        clock=FakeClock(),
        default_endpoint=endpoint,
        roles=FakeRoleAssignments(),
    )


def canary_context() -> Context:
    """Two agents with canary rollouts (``vbot`` aborts on one failed re-run, ``tolerant`` on two)."""
    return context_for(CANARY_CONFIG)


def promotion_context() -> Context:
    """``vbot`` (verified) promotes to ``vbot-prod`` (canary) in another project."""
    return context_for(PROMOTION_CONFIG, "https://example.services.ai.azure.com/api/projects/staging")
