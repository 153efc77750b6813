"""``deploy --wait`` through the installed CLI against a dev host of its own that is killed and
started again (same port, table and project) in the middle of a canary: the wait goes on
through the outage, shows every step and ends with the right exit code."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.integration.helpers import CLI, run
from tests.integration.rollout_helpers import PROJECT_ID, READY, REGISTRY
from tests.registry_seed import seed

pytestmark = pytest.mark.integration
AGENT = "wait-bird"


@pytest.fixture
def own_host(stack, tmp_path: Path):
    """A dev host with a canary agent, a fresh table and Foundry project; ``restart(kill=True)``
    kills it and starts another on the same port."""
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
    path = tmp_path / "wait.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {
        "DEPLOYER_CONFIG": str(path),
        "DEPLOYER_TABLE_NAME": f"w{uuid.uuid4().hex[:12]}",
        "FOUNDRY_PROJECT_ENDPOINT": f"{stack.info.foundry_origin}/api/projects/c{uuid.uuid4().hex[:8]}",
        "POLL_SCHEDULE": "*/1 * * * * *",
    }
    names: list[str] = []

    def start(port: int = 0) -> str:
        names.append(f"wait-host-{len(names)}")
        return stack.start_devhost(names[-1], port=port, env=env, run_timers=True)

    def restart(url: str) -> str:
        stack.stop_process(names[-1], kill=True)
        time.sleep(2)  # the CLI meets a closed port for a while
        return start(urlsplit(url).port or 0)

    yield start, restart
    for name in names:
        stack.stop_process(name)


def image(tag: str) -> str:
    return f"{REGISTRY}/agents/{AGENT}:{tag}"


@pytest.fixture
def pushed(stack):
    """``image(tag)``, put in the registry stand-in first (as ``docker push`` would)."""

    def push(tag: str) -> str:
        seed(stack.info.registry_endpoint, stack.info.foundry_ca_bundle, image(tag))
        return image(tag)

    return push


class Waiting:
    """``agent-deployer deploy --wait`` running in the background, its stderr read line by line."""

    def __init__(self, *argv: str) -> None:
        self.process = subprocess.Popen(
            [str(CLI), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def until(self, prefix: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(line.startswith(prefix) for line in self.lines):
            assert time.monotonic() < deadline and self.process.poll() is None, self.lines
            time.sleep(0.1)

    def finish(self) -> tuple[int, str]:
        assert self.process.stdout is not None
        stdout = self.process.stdout.read()  # stderr is the reader thread's alone
        code = self.process.wait(timeout=120)
        self._reader.join(timeout=5)
        return code, stdout


def test_deploy_wait_survives_a_dev_host_restart_in_the_middle_of_a_canary(own_host, pushed):
    start, restart = own_host
    url = start()
    assert run("--url", url, "deploy", AGENT, pushed("1"), "--wait").returncode == 0
    waiting = Waiting("--url", url, "deploy", AGENT, pushed("2"), "--wait", "--timeout", "150")
    waiting.until("canary 0% → 10% (step 1/3, next at ")
    restart(url)
    code, stdout = waiting.finish()
    assert code == 0, waiting.lines
    assert waiting.lines[0].startswith("deployment ") and "started for wait-bird" in waiting.lines[0]
    assert any("cannot reach" in line and "retrying in" in line for line in waiting.lines), waiting.lines
    steps = [line.split(" (")[0] for line in waiting.lines if line.startswith("canary ")]
    assert steps == ["canary 0% → 10%", "canary 10% → 50%", "canary 50% → 100%"], waiting.lines
    assert ": verified" in stdout


def test_a_wait_that_runs_out_says_so_and_exits_2(own_host, emulator_settings, pushed):
    start, _ = own_host
    url = start()
    emulator_settings(provision_delay_s=None)
    done = run("--url", url, "deploy", AGENT, pushed("slow"), "--wait", "--timeout", "1")
    assert done.returncode == 2, done.stderr
    deployment_id = done.stderr.splitlines()[0].split()[1]
    assert (
        f"gave up waiting after 1s: the deployment is still creating; follow it with:"
        f" agent-deployer status {deployment_id} --url {url}"
    ) in done.stderr
