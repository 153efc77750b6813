"""Dead notifications and redelivery through the dev host and the real CLI: a receiver on loopback
answers 410, the ``deliver_notifications`` timer sends the entry to ``dead``, the API and the CLI
list it, and redelivery makes it pending and then delivered.

The session stack's config has no webhooks, so this module starts a second dev host on the
session stack's services with its own config file, table and Foundry project.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localdev.stack import Stack
from tests.integration.conftest import Http
from tests.integration.helpers import run
from tests.integration.receiver import SECRET, Receiver

REGISTRY = "myregistry.azurecr.io"
HOST_NAME = "deployer-notifications"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture(scope="module")
def url(
    stack: Stack, http: Http, receiver: Receiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A dev host whose config sends ``deployment.creating`` of ``notify-bot`` to the receiver."""
    config = tmp_path_factory.mktemp("notifications-api") / "deployer.yaml"
    config.write_text(
        f"registries: [{REGISTRY}]\n"
        "grant_runtime_role: false\n"
        "agents:\n"
        "  - name: notify-bot\n"
        "    repository: agents/notify-bot\n"
        "webhooks:\n"
        f"  - url: {receiver.url('/gone')}\n"
        "    secret: ${WEBHOOK_SECRET}\n"
        "    events: [deployment.creating]\n"
    )
    assert stack.info is not None
    env = {
        "DEPLOYER_CONFIG": str(config),
        "DEPLOYER_TABLE_NAME": f"n{uuid.uuid4().hex[:12]}",
        "FOUNDRY_PROJECT_ENDPOINT": f"{stack.info.foundry_origin}/api/projects/notify{uuid.uuid4().hex[:6]}",
        "WEBHOOK_SECRET": SECRET,
    }
    try:
        yield stack.start_devhost(HOST_NAME, port=0, env=env)
    finally:
        stack.stop_process(HOST_NAME)


def api(http: Http, url: str, method: str, path: str) -> tuple[int, Any]:
    return http.request(method, f"{url}/api/{path}", raw=b"" if method == "POST" else None)


def wait_until(check: Callable[[], Any], timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def dead_entry(http: Http, url: str, deployment_id: str) -> dict[str, Any] | None:
    status, page = api(http, url, "GET", "notifications?state=dead&limit=200")
    assert status == 200, page
    return next((n for n in page["items"] if n["deployment_id"] == deployment_id), None)


def test_a_410_sends_an_entry_to_dead_the_api_lists_it_and_redelivery_delivers_it(http, url, receiver):
    receiver.answer("/gone", 410)
    http.seed(f"{REGISTRY}/agents/notify-bot:1")
    status, started = http.request(
        "POST", f"{url}/api/deployments", {"agent": "notify-bot", "image": f"{REGISTRY}/agents/notify-bot:1"}
    )
    assert status == 202, started
    dead = wait_until(lambda: dead_entry(http, url, started["id"]))
    assert dead is not None, "the entry did not go dead"
    port = receiver.server.server_address[1]
    assert dead["subscriber"]["host"] == f"127.0.0.1:{port}" and dead["subscriber"]["format"] == "cloudevents"
    assert (dead["type"], dead["last_result"], dead["attempts"]) == ("deployment.creating", "410", 1)
    assert "/gone" not in json.dumps(dead) and "whsec_" not in json.dumps(dead)

    receiver.answer("/gone", 200)
    status, queued = api(http, url, "POST", f"notifications/{dead['id']}/redeliver")
    assert status == 202 and (queued["id"], queued["state"], queued["attempts"]) == (dead["id"], "pending", 0)
    assert api(http, url, "POST", f"notifications/{dead['id']}/redeliver")[0] == 409  # pending or delivered

    def delivered() -> dict[str, Any] | None:
        page = api(http, url, "GET", "notifications?state=delivered")[1]
        return next((n for n in page["items"] if n["id"] == dead["id"]), None)

    assert wait_until(delivered), "the redelivered entry was not delivered"
    ids = [r.headers["webhook-id"] for r in receiver.at("/gone")]
    assert ids[-1] == dead["event_id"] and set(ids) == {dead["event_id"]}
    again = api(http, url, "POST", f"notifications/{dead['id']}/redeliver")
    assert again[0] == 409 and again[1]["type"].endswith("notification-not-dead")


def test_redelivering_an_unknown_or_malformed_id_is_a_problem(http, url):
    assert api(http, url, "POST", "notifications/0000000000000abcdef.creating.w0/redeliver")[0] == 404
    assert api(http, url, "POST", "notifications/nope/redeliver")[0] == 400
    assert api(http, url, "GET", "notifications?state=lost")[0] == 400


def test_the_cli_lists_dead_notifications_and_redelivers_them(http, url, receiver):
    receiver.answer("/gone", 410)
    http.seed(f"{REGISTRY}/agents/notify-bot:2")
    status, started = http.request(
        "POST", f"{url}/api/deployments", {"agent": "notify-bot", "image": f"{REGISTRY}/agents/notify-bot:2"}
    )
    assert status == 202, started
    dead = wait_until(lambda: dead_entry(http, url, started["id"]))
    assert dead is not None, "the entry did not go dead"

    listed = run("--url", url, "notifications", "--state", "dead")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(dead["id"]))
    assert "dead" in row and "cloudevents 127.0.0.1:" in row and "410" in row
    as_json = json.loads(run("notifications", "--state", "dead", "--json", "--url", url).stdout)
    assert dead["id"] in [n["id"] for n in as_json["items"]]

    receiver.answer("/gone", 200)
    redelivered = run("--url", url, "redeliver", dead["id"])
    assert redelivered.returncode == 0, redelivered.stderr
    assert redelivered.stdout.startswith(f"{dead['id']}: pending, queued for cloudevents 127.0.0.1:")
    refused = run("--url", url, "redeliver", "0000000000000abcdef.creating.w0")
    assert refused.returncode == 3 and "404" in refused.stderr
