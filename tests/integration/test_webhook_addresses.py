"""A webhook host whose name resolves to a refused address (here ``localhost``, with no loopback
exception), through the dev host: the app starts and deploys, health shows the subscriber
refused (``degraded``, still 200), and the subscriber's notifications go ``dead`` with
``address_refused``. The same file still fails ``config check``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localdev.stack import ROOT, Stack
from tests.integration.extra_hosts import config_file, extra_host

HOST = "deployer-refused-webhook"
CONFIG = (
    "registries: [myregistry.azurecr.io]\n"
    "grant_runtime_role: false\n"
    "agents:\n"
    "  - name: dns-bot\n"
    "    repository: agents/dns-bot\n"
    "webhooks:\n"
    "  - url: https://localhost:9/secret-path\n"
    "    format: slack\n"
)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return config_file(tmp_path_factory, "refused-webhook", CONFIG)


@pytest.fixture(scope="module")
def url(stack: Stack, config: Path) -> Iterator[str]:
    assert stack.info is not None
    env = {
        "DEPLOYER_CONFIG": str(config),
        "DEPLOYER_TABLE_NAME": f"w{uuid.uuid4().hex[:12]}",
        "FOUNDRY_PROJECT_ENDPOINT": f"{stack.info.foundry_origin}/api/projects/p{uuid.uuid4().hex[:8]}",
        "WEBHOOKS_ALLOW_LOOPBACK": "false",
    }
    yield from extra_host(stack, HOST, env)


def wait_until(check: Callable[[], Any], timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def test_health_shows_the_refused_subscriber_and_stays_available(http, url):
    status, report = http.request("GET", f"{url}/api/health")
    assert status == 200 and report["status"] == "degraded", report
    [hook] = [c for c in report["checks"] if c["name"] == "webhook"]
    assert (hook["target"], hook["status"]) == ("https://localhost:9", "unreachable")
    assert hook["error"].startswith("address_refused: ") and "loopback" in hook["error"]
    assert "secret-path" not in json.dumps(report)


def test_a_deploy_goes_ahead_and_the_subscriber_alone_fails(http, url):
    body = {"agent": "dns-bot", "image": "myregistry.azurecr.io/agents/dns-bot:1.0.0"}
    http.seed(body["image"])
    status, started = http.request("POST", f"{url}/api/deployments", body)
    assert status == 202 and started["status"] == "creating", started

    def dead() -> dict[str, Any] | None:
        page = http.request("GET", f"{url}/api/notifications?state=dead&limit=200")[1]
        return next((n for n in page["items"] if n["deployment_id"] == started["id"]), None)

    entry = wait_until(dead)
    assert entry is not None and entry["last_result"] == "address_refused", entry


def test_config_check_still_refuses_the_file(config):
    checked = subprocess.run(
        [sys.executable, "-m", "deployer", "config", "check", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert checked.returncode != 0 and "webhooks[0].url" in checked.stderr + checked.stdout
    assert "loopback" in checked.stderr + checked.stdout
