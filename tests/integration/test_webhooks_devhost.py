"""End to end through the dev host: an ACR push delivered by "Event Grid" reaches active, and the
``deliver_notifications`` timer sends the signed webhooks to a receiver on loopback.

Runs its own stack (its own config file with a webhook), so the shared stack's config is untouched.
"""

from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from deployer.cli.simulate import image_pushed_event
from localdev.stack import Stack
from tests.integration.conftest import Http
from tests.integration.receiver import SECRET, Receiver

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def receiver():
    running = Receiver()
    yield running
    running.close()


@pytest.fixture(scope="module")
def webhook_stack(tmp_path_factory, receiver):
    state = tmp_path_factory.mktemp("webhook-stack")
    config = state / "deployer.yaml"
    config.write_text(
        "registries: [myregistry.azurecr.io]\n"
        "grant_runtime_role: false\n"
        "agents:\n"
        "  - name: echo\n"
        "    repository: agents/echo\n"
        "webhooks:\n"
        f"  - url: {receiver.url('/hook')}\n"
        "    secret: ${WEBHOOK_SECRET}\n"
        "    events: [deployment.creating, deployment.active]\n"
    )
    env = {"POLL_SCHEDULE": "*/1 * * * * *", "WEBHOOK_SECRET": SECRET}
    with Stack(config_path=config, state_dir=state, env=env) as running:
        yield running


def test_a_push_through_the_dev_host_reaches_active_and_the_webhook_arrives_signed(webhook_stack, receiver):
    http = Http(webhook_stack.info)
    event = image_pushed_event("myregistry.azurecr.io/agents/echo:e2e-1")
    assert http.deliver([event]) == 202
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(receiver.at("/hook")) < 2:
        time.sleep(0.2)
    time.sleep(1.5)  # a further sender tick or two: nothing more may arrive
    got = receiver.at("/hook")
    events = [Verifier(SECRET).verify(r.body, r.headers) for r in got]
    # Both may be due at one sender tick and go out in either order: receivers order by ``time``.
    assert sorted(e["type"] for e in events) == ["deployment.active", "deployment.creating"]
    assert {e["subject"] for e in events} == {"echo"}
    active = next(e for e in events if e["type"] == "deployment.active")
    assert active["data"]["status"] == "active" and active["data"]["event_id"] == event["id"]
    assert [r.headers["webhook-id"] for r in got] == [e["id"] for e in events]
