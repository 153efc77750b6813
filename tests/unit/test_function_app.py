"""What the Functions host sees when it imports ``function_app`` to index it: every trigger with its
binding, and nothing read or built yet (no configuration, no parser, no Azure SDK client)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: Imported by the first invocation, never by indexing: the config parser and the Azure SDKs.
FIRST_USE_ONLY = (
    "pydantic",
    "yaml",
    "deployer.config.parser",
    "deployer.adapters",
    "azure.core",
    "azure.data",
)
_INDEX = """
import json, sys
import function_app
functions = function_app.app.get_functions()
bindings = {f.get_function_name(): json.loads(f.get_raw_bindings()[0]) for f in functions}
print(json.dumps([bindings, sorted(sys.modules)]))
"""


def index(**env: str) -> tuple[dict[str, Any], list[str]]:
    """Import the app in a fresh interpreter, as the host's worker does: each function's trigger
    binding, and the modules the import loaded."""
    clean = {k: v for k, v in os.environ.items() if k not in ("DEPLOYER_CONFIG", "POLL_SCHEDULE")}
    command = [sys.executable, "-c", _INDEX]
    done = subprocess.run(
        command, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    bindings, modules = json.loads(done.stdout)
    return bindings, modules


def test_the_app_indexes_with_an_invalid_config_and_loads_nothing_a_trigger_needs_later(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("registries: []\nagents: []\n")
    bindings, modules = index(DEPLOYER_CONFIG=str(bad), POLL_CONCURRENCY="not a number")
    loaded = [m for m in modules if any(m == p or m.startswith(p + ".") for p in FIRST_USE_ONLY)]
    assert loaded == []
    assert {"on_image_pushed", "poll_deployments", "deliver_notifications", "prune_history"} <= set(bindings)


def test_the_event_grid_trigger_and_the_timers_are_declared_with_their_schedules():
    bindings, _ = index(POLL_SCHEDULE="*/30 * * * * *")
    triggers = {name: b for name, b in bindings.items() if b["type"] != "httpTrigger"}
    assert triggers == {
        "on_image_pushed": {"direction": "IN", "type": "eventGridTrigger", "name": "event"},
        "poll_deployments": timer("*/30 * * * * *"),
        "deliver_notifications": timer("*/5 * * * * *"),
        "prune_history": timer("0 23 * * * *"),
    }


def timer(schedule: str) -> dict[str, Any]:
    return {
        "direction": "IN",
        "type": "timerTrigger",
        "name": "timer",
        "schedule": schedule,
        "useMonitor": False,
    }
