"""``make run``: start the local stack, print where it listens and its keys (also in
``.local/stack.json``, removed on exit), show a simulated ACR push reaching ``active``, then keep
serving until Ctrl-C / SIGTERM. If a part of the stack dies, it is named, the rest is stopped and
the exit status is 1; a fixed port already in use stops the start with the variable to change."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import FrameType

from localdev.stack import PROJECT, ROOT, Stack, StackInfo
from localdev.stack_config import PortInUse

DEMO_IMAGE = "myregistry.azurecr.io/agents/support-bot:1.0.0"


def main() -> int:
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    config = Path(os.environ.get("DEPLOYER_CONFIG") or ROOT / "deployer.yaml").resolve()
    env = os.environ
    state_dir = Path(env["LOCAL_STACK_DIR"]).resolve() if env.get("LOCAL_STACK_DIR") else None
    stack = Stack(
        config_path=config,
        state_dir=state_dir,
        table_port=int(env.get("AZURITE_TABLE_PORT") or 10002),
        emulator_port=int(env.get("FOUNDRY_EMULATOR_PORT") or 0),
        deployer_port=int(env.get("DEPLOYER_PORT") or 7071),
        foundry_settings={"projects": [PROJECT]},
        check_keys=True,
    )
    try:
        with stack:
            return _serve(stack, stopping)
    except PortInUse as exc:
        print(f"cannot start the local stack: {exc}", file=sys.stderr, flush=True)
        return 2


def _serve(stack: Stack, stopping: threading.Event) -> int:
    """Serve until asked to stop (0) or until a part of the stack dies (1)."""
    assert stack.info is not None
    path = stack.write_info()
    print(f"local stack ready ({path}):\n{path.read_text()}", flush=True)
    print(f"CLI: export DEPLOYER_URL={stack.info.deployer_url} DEPLOYER_KEY={stack.info.function_key}")
    print(f"dashboard: {stack.info.deployer_url}/api/ui (it asks once for the function key, DEPLOYER_KEY)")
    if os.environ.get("RUN_DEMO_PUSH", "1") != "0":
        _demo(stack.info, stopping)
    print("serving; Ctrl-C to stop", flush=True)
    while not stopping.wait(0.5):
        dead = stack.exited()
        if dead is not None:
            name, status = dead
            print(
                f"{name} exited with status {status} (see .local/logs/{name}.log); stopping the stack",
                flush=True,
            )
            return 1
    print("stopping the local stack", flush=True)
    return 0


def _demo(info: StackInfo, stopping: threading.Event) -> None:
    """Push the demo image to the registry stand-in and post its event, as ``docker push`` and
    ACR would, then follow the deployment."""
    from deployer.cli.main import main as cli

    url = info.deployer_url
    os.environ["SSL_CERT_FILE"] = info.foundry_ca_bundle  # this process trusts the stand-ins' local CA
    # The Event Grid webhook takes the system key; the API, which says what was decided, the function key.
    cli(
        [
            "--url",
            url,
            "--key",
            info.function_key,
            "simulate-push",
            DEMO_IMAGE,
            "--eventgrid-key",
            info.eventgrid_key,
            "--registry-endpoint",
            info.registry_endpoint,
        ]
    )
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while not stopping.is_set() and time.monotonic() < deadline:
        request = urllib.request.Request(  # noqa: S310 - the stack's own http URL
            f"{url}/api/deployments?agent=support-bot&limit=1", headers={"x-functions-key": info.function_key}
        )
        with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310
            items = json.load(r)["items"]
        status = items[0]["status"] if items else "waiting"
        if not seen or seen[-1] != status:
            seen.append(status)
            print(
                f"  {DEMO_IMAGE}: {status}" + (f" (version {items[0]['version']})" if items else ""),
                flush=True,
            )
        if status in ("active", "failed", "timed_out", "skipped"):
            break
        time.sleep(0.5)
    print("demo: " + " -> ".join(seen), flush=True)


if __name__ == "__main__":
    sys.exit(main())
