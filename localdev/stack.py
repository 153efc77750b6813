"""Starts the local stack: Azurite (Table Storage), the Foundry emulator, the ARM emulator (role
assignments), the ACR data-plane stand-in and the Functions dev host serving ``function_app``,
each as a child process on free loopback ports.

Used by ``make run`` (``python -m localdev.run``) and by the integration tests. Stopping the
stack stops every process it started.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from localdev.tls import ensure_local_tls

ROOT = Path(__file__).resolve().parent.parent
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
LOCAL_TOKEN = "local-dev-token"  # noqa: S105 - the emulator accepts any bearer token
PROJECT = "local"


@dataclass(frozen=True, kw_only=True)
class StackInfo:
    """Where the running stack's parts listen (written to ``.local/stack.json``)."""

    deployer_url: str
    foundry_endpoint: str
    foundry_origin: str
    foundry_ca_bundle: str
    table_connection_string: str
    #: The ARM emulator (role assignments), the app's ARM_ENDPOINT.
    arm_endpoint: str = ""
    #: The ACR data-plane stand-in; registry R's endpoint is ``{registry_endpoint}/R``.
    registry_endpoint: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def table_connection_string(port: int) -> str:
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


class Stack:
    """The local services; a context manager that stops them all on exit."""

    def __init__(
        self,
        *,
        config_path: Path,
        state_dir: Path | None = None,
        env: dict[str, str] | None = None,
        run_timers: bool = True,
        table_port: int | None = None,
        emulator_port: int = 0,
        deployer_port: int = 0,
    ) -> None:
        self.state_dir = state_dir or ROOT / ".local"
        self.config_path = config_path
        self.extra_env = env or {}
        self.run_timers = run_timers
        self.ports = {
            "table": table_port or free_port(),
            "emulator": emulator_port,
            "deployer": deployer_port,
        }
        self.processes: dict[str, subprocess.Popen[str]] = {}
        self.info: StackInfo | None = None
        self.app_env: dict[str, str] = {}

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> StackInfo:
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        tls = ensure_local_tls(self.state_dir / "tls")
        self._start_azurite(logs)
        origin = self._start_emulator(logs, tls.cert_file.parent)
        arm = self._spawn("arm", self._python_module("localdev.arm_emulator", tls.cert_file.parent), logs, {})
        registry = self._spawn(
            "registry", self._python_module("localdev.acr_emulator", tls.cert_file.parent), logs, {}
        )
        conn = table_connection_string(self.ports["table"])
        self.app_env = {
            "DEPLOYER_CONFIG": str(self.config_path),
            "FOUNDRY_PROJECT_ENDPOINT": f"{origin}/api/projects/{PROJECT}",
            "ARM_ENDPOINT": arm,
            "DEPLOYER_REGISTRY_ENDPOINT": registry,
            "DEPLOYER_TABLE_CONNECTION_STRING": conn,
            "DEPLOYER_STATIC_TOKEN": LOCAL_TOKEN,
            "REQUESTS_CA_BUNDLE": str(tls.ca_bundle),
            "SSL_CERT_FILE": str(tls.ca_bundle),
            "WEBHOOKS_ALLOW_LOOPBACK": "true",
            **self.extra_env,
        }
        url = self.start_devhost("deployer", logs)
        self.info = StackInfo(
            deployer_url=url,
            foundry_endpoint=self.app_env["FOUNDRY_PROJECT_ENDPOINT"],
            foundry_origin=origin,
            foundry_ca_bundle=str(tls.ca_bundle),
            arm_endpoint=arm,
            registry_endpoint=registry,
            table_connection_string=conn,
        )
        return self.info

    def start_devhost(
        self,
        name: str,
        logs: Path | None = None,
        port: int | None = None,
        *,
        env: dict[str, str] | None = None,
        run_timers: bool | None = None,
    ) -> str:
        """Start (another) dev host on the stack's services, e.g. for scale-out or restart tests;
        ``env`` overrides app settings for this host alone (another table, another project)."""
        args = [
            "-m",
            "localdev.devhost",
            "--app",
            "function_app:app",
            "--port",
            str(self.ports["deployer"] if port is None else port),
        ]
        if not (self.run_timers if run_timers is None else run_timers):
            args.append("--no-timers")
        app_env = {**self.app_env, **(env or {})}
        return self._spawn(name, [sys.executable, *args], logs or self.state_dir / "logs", app_env)

    def stop_process(self, name: str, *, kill: bool = False) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_process(name)

    def write_info(self) -> Path:
        assert self.info is not None
        path = self.state_dir / "stack.json"
        path.write_text(json.dumps(asdict(self.info), indent=2) + "\n")
        return path

    def _start_azurite(self, logs: Path) -> None:
        binary = ROOT / "node_modules" / ".bin" / "azurite-table"
        if not binary.exists():
            raise RuntimeError("Azurite is not installed: run 'npm ci' (make does it for you)")
        command = [
            str(binary),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(self.ports["table"]),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ]
        log = (logs / "azurite.log").open("w")
        self.processes["azurite"] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)
        _wait_for_port(self.ports["table"], self.processes["azurite"], "Azurite")

    @staticmethod
    def _python_module(module: str, tls_dir: Path) -> list[str]:
        return [sys.executable, "-m", module, "--port", "0", "--tls-dir", str(tls_dir)]

    def _start_emulator(self, logs: Path, tls_dir: Path) -> str:
        command = [
            sys.executable,
            "-m",
            "localdev.foundry_emulator",
            "--port",
            str(self.ports["emulator"]),
            "--tls-dir",
            str(tls_dir),
        ]
        return self._spawn("emulator", command, logs, {})

    def _spawn(self, name: str, command: list[str], logs: Path, env: dict[str, str]) -> str:
        log = (logs / f"{name}.log").open("w")
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT, env={**os.environ, **env}
        )
        self.processes[name] = process
        assert process.stdout is not None
        url = _read_ready(process, process.stdout, name)
        threading.Thread(target=_drain, args=(process.stdout,), daemon=True).start()
        return url


def _read_ready(process: subprocess.Popen[str], stdout: IO[str], name: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stdout], [], [], 0.2)
        if ready:
            line = stdout.readline()
            if line.startswith("READY "):
                return line.split(" ", 1)[1].strip()
            if not line and process.poll() is not None:
                break
    raise RuntimeError(f"{name} did not start (see .local/logs/{name}.log)")


def _drain(stream: IO[Any]) -> None:
    for _ in stream:
        pass


def _wait_for_port(port: int, process: subprocess.Popen[str], name: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited (see .local/logs)")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not open port {port}")
