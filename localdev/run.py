"""``make run``: start the local stack, show a simulated ACR push reaching ``active``, then
keep serving until Ctrl-C / SIGTERM, stopping everything it started."""

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

from localdev.stack import ROOT, Stack, StackInfo

DEMO_IMAGE = "myregistry.azurecr.io/agents/support-bot:1.0.0"


def main() -> int:
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    config = Path(os.environ.get("DEPLOYER_CONFIG") or ROOT / "deployer.yaml").resolve()
    env = os.environ
    stack = Stack(
        config_path=config,
        table_port=int(env.get("AZURITE_TABLE_PORT") or 10002),
        emulator_port=int(env.get("FOUNDRY_EMULATOR_PORT") or 0),
        deployer_port=int(env.get("DEPLOYER_PORT") or 7071),
    )
    with stack:
        path = stack.write_info()
        print(f"local stack ready ({path.relative_to(ROOT)}):\n{path.read_text()}", flush=True)
        if os.environ.get("RUN_DEMO_PUSH", "1") != "0" and stack.info is not None:
            _demo(stack.info, stopping)
        print("serving; Ctrl-C to stop", flush=True)
        stopping.wait()
        print("stopping the local stack", flush=True)
    return 0


def _demo(info: StackInfo, stopping: threading.Event) -> None:
    """Push the demo image to the registry stand-in and post its event, as ``docker push`` and
    ACR would, then follow the deployment."""
    from deployer.cli.main import main as cli

    url = info.deployer_url
    os.environ.setdefault("SSL_CERT_FILE", info.foundry_ca_bundle)  # the stand-in's local CA
    cli(["--url", url, "simulate-push", DEMO_IMAGE, "--registry-endpoint", info.registry_endpoint])
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while not stopping.is_set() and time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/api/deployments?agent=support-bot&limit=1", timeout=10) as r:  # noqa: S310
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
