"""The local stack as ``make run`` starts it: keys on the dev host, ports checked before anything
starts, a dead part stops the whole stack with a non-zero exit, ``stack.json`` removed on exit."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from localdev.run import DEMO_IMAGE
from localdev.stack import ROOT, Stack, end
from localdev.stack_config import PortInUse

pytestmark = pytest.mark.integration


def children_of(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``, with their command lines (Linux ``/proc``)."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found[int(entry.name)] = command
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def status_of(url: str, headers: dict[str, str], body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@contextmanager
def launch(
    tmp_path: Path, *, demo: bool, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """``python -m localdev.run`` on free ports until it says it serves (what it printed until
    then, the demo included, is in ``printed.txt`` beside ``stack.json``); ``env`` adds settings."""
    env = {
        **os.environ,
        **(env or {}),
        "LOCAL_STACK_DIR": str(tmp_path),
        "AZURITE_TABLE_PORT": "0",
        "DEPLOYER_PORT": "0",
        "RUN_DEMO_PUSH": "1" if demo else "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "localdev.run"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    printed = []
    for line in process.stdout:
        printed.append(line)
        if line.startswith("serving;"):
            break
    (tmp_path / "printed.txt").write_text("".join(printed))
    try:
        yield process, tmp_path / "stack.json"
    finally:
        # SIGTERM lets the launcher stop its five children; SIGKILL would leave them running.
        if process.poll() is None:
            end(process, timeout_s=60)


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """The launched stack, without the demo."""
    with launch(tmp_path, demo=False) as running:
        yield running


def test_make_run_shows_the_demo_push_reaching_active(tmp_path: Path) -> None:
    with launch(tmp_path, demo=True) as (process, _):
        printed = (tmp_path / "printed.txt").read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0

    assert "demo: creating -> active" in printed, printed
    assert "error:" not in printed, printed


def records_after_a_restart(tmp_path: Path, persist: str) -> list[dict[str, object]]:
    """The demo push's agent's records as a second ``make run`` on the same ``.local`` sees them."""
    with launch(tmp_path, demo=True, env={"LOCAL_PERSIST": persist}) as (process, _):
        assert "demo: creating -> active" in (tmp_path / "printed.txt").read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    with launch(tmp_path, demo=False, env={"LOCAL_PERSIST": persist}) as (process, info_file):
        info = json.loads(info_file.read_text())
        request = urllib.request.Request(
            f"{info['deployer_url']}/api/deployments?agent=support-bot",
            headers={"x-functions-key": info["function_key"]},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            items: list[dict[str, object]] = json.load(answer)["items"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    return items


def test_with_local_persist_the_table_outlives_a_restart_under_the_state_dir(tmp_path: Path) -> None:
    records = records_after_a_restart(tmp_path, "1")

    assert [(r["image"], r["status"]) for r in records] == [(DEMO_IMAGE, "active")]
    assert any((tmp_path / "azurite").iterdir())


def test_without_local_persist_a_restart_starts_from_an_empty_table(tmp_path: Path) -> None:
    assert records_after_a_restart(tmp_path, "0") == []
    assert not (tmp_path / "azurite").exists()


def test_a_fixed_port_in_use_stops_the_start_naming_the_variable(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stack = Stack(config_path=ROOT / "deployer.yaml", state_dir=tmp_path, deployer_port=port)

        with pytest.raises(PortInUse) as refused:
            stack.start()

    assert f"port {port}" in str(refused.value) and "DEPLOYER_PORT" in str(refused.value)
    assert stack.processes == {}


def test_the_launched_dev_host_refuses_a_call_without_its_keys(
    launched: tuple[subprocess.Popen[str], Path],
) -> None:
    info = json.loads(launched[1].read_text())
    api = f"{info['deployer_url']}/api/agents"
    webhook = f"{info['deployer_url']}/runtime/webhooks/eventgrid?functionName=on_image_pushed"
    validation = json.dumps([{"id": "v", "data": {"validationCode": "c"}}]).encode()
    check = {"aeg-event-type": "SubscriptionValidation"}

    assert status_of(api, {}) == 401
    assert status_of(api, {"x-functions-key": info["function_key"]}) == 200
    assert status_of(webhook, check, validation) == 401
    assert status_of(webhook, {**check, "x-functions-key": info["function_key"]}, validation) == 401
    assert status_of(f"{webhook}&code={info['eventgrid_key']}", check, validation) == 200


def test_the_launcher_writes_its_keys_and_removes_stack_json_when_stopped(
    launched: tuple[subprocess.Popen[str], Path],
) -> None:
    process, info_file = launched
    info = json.loads(info_file.read_text())
    mode = info_file.stat().st_mode & 0o777
    children = children_of(process.pid)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=60) == 0
    assert info["function_key"] and info["eventgrid_key"] and info["function_key"] != info["eventgrid_key"]
    assert mode == 0o600 and not info_file.exists()
    assert len(children) == 5  # Azurite, the Foundry, ARM and registry stand-ins, the dev host
    assert not any(alive(pid) for pid in children)


def test_a_dead_part_stops_the_stack_names_it_and_exits_1(
    launched: tuple[subprocess.Popen[str], Path],
) -> None:
    process, info_file = launched
    children = children_of(process.pid)
    [arm] = [pid for pid, command in children.items() if "localdev.arm_emulator" in command]

    os.kill(arm, signal.SIGKILL)
    status = process.wait(timeout=60)
    assert process.stdout is not None
    output = process.stdout.read()

    assert status == 1
    assert "arm exited with status -9" in output
    assert not info_file.exists()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in children)


def test_the_launcher_prints_the_dashboard_which_loads_without_a_key_and_reads_the_api_with_one(
    launched: tuple[subprocess.Popen[str], Path],
) -> None:
    info = json.loads(launched[1].read_text())
    printed = (launched[1].parent / "printed.txt").read_text()
    [url] = re.findall(r"^dashboard: (\S+)", printed, re.MULTILINE)

    assert url == f"{info['deployer_url']}/api/ui"
    assert status_of(url, {}) == status_of(f"{url}/app.js", {}) == 200
    assert status_of(f"{info['deployer_url']}/api/caller", {}) == 401
    assert status_of(f"{info['deployer_url']}/api/caller", {"x-functions-key": info["function_key"]}) == 200
