"""A canary survives the dev host: killed in the middle of its steps, a new host (the same app,
table and project) carries it on from its record to 100%."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import yaml

from deployer.cli.simulate import image_pushed_event
from tests.integration.rollout_helpers import PROJECT_ID, READY, REGISTRY

pytestmark = pytest.mark.integration
AGENT = "restart-bird"


@pytest.fixture
def canary_host(stack, http, tmp_path: Path):
    """Settings for a dev host of its own: a canary agent, a fresh table and Foundry project."""
    config = {
        "registries": [REGISTRY],
        "project_resource_id": PROJECT_ID,
        "agents": [
            {
                "name": AGENT,
                "repository": f"agents/{AGENT}",
                "smoke_test": READY,
                "rollout": {"strategy": "canary", "steps": [10, 50, 100], "step_interval_s": 3},
            }
        ],
    }
    path = tmp_path / "canary.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {
        "DEPLOYER_CONFIG": str(path),
        "DEPLOYER_TABLE_NAME": f"c{uuid.uuid4().hex[:12]}",
        "FOUNDRY_PROJECT_ENDPOINT": f"{stack.info.foundry_origin}/api/projects/c{uuid.uuid4().hex[:8]}",
        "POLL_SCHEDULE": "*/1 * * * * *",
    }
    names: list[str] = []

    def start() -> str:
        names.append(f"canary-host-{len(names)}")
        return stack.start_devhost(names[-1], port=0, env=env, run_timers=True)

    yield start, names
    for name in names:
        stack.stop_process(name)


def deployment(http, url: str, event_id: str) -> dict:
    status, page = http.request("GET", f"{url}/api/deployments?agent={AGENT}&limit=50")
    assert status == 200, page
    [found] = [d for d in page["items"] if d["event_id"] == event_id]
    return found


def wait(http, url: str, event_id: str, done, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        found = deployment(http, url, event_id)
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def push(http, url: str, tag: str) -> str:
    event = image_pushed_event(f"{REGISTRY}/agents/{AGENT}:{tag}")
    http.seed(f"{REGISTRY}/agents/{AGENT}:{tag}", digest=event["data"]["target"]["digest"])
    status, _ = http.request(
        "POST",
        f"{url}/runtime/webhooks/eventgrid?functionName=on_image_pushed",
        [event],
        {"aeg-event-type": "Notification"},
    )
    assert status == 202
    return str(event["id"])


def shifts(record: dict) -> list[int]:
    return [h["percentage"] for h in record["history"] if h["status"] == "traffic_shifted"]


def test_a_dev_host_killed_in_the_middle_of_a_canary_is_continued_by_the_next_one(http, stack, canary_host):
    start, names = canary_host
    url = start()
    first = push(http, url, "1")
    assert wait(http, url, first, lambda d: d["status"] in ("verified", "active"))["status"] in (
        "verified",
        "active",
    )
    second = push(http, url, "2")
    midway = wait(http, url, second, lambda d: d["status"] == "canary" and 10 in shifts(d))
    assert midway["status"] == "canary" and 100 not in shifts(midway)
    stack.stop_process(names[-1], kill=True)
    url = start()
    # A look the killed host had begun holds its lease (the poll's 60 s) before the new host
    # takes the canary on, then the remaining steps come 3 s apart.
    done = wait(
        http,
        url,
        second,
        lambda d: d["status"] not in ("canary", "verifying", "creating", "pending"),
        timeout_s=150.0,
    )
    assert done["status"] == "verified", json.dumps(done["history"])
    assert shifts(done) == [10, 50, 100]
    assert (done["canary"]["percentage"], done["canary"]["stable"], done["canary"]["smoke_failures"]) == (
        100,
        "1",
        0,
    )
