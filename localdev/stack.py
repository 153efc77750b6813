"""Starts the local stack: Azurite (Table Storage), the Foundry emulator, the ARM emulator (role
assignments), the ACR data-plane stand-in and the Functions dev host serving ``function_app``,
each as a child process on free loopback ports.

Used by ``make run`` (``python -m localdev.run``) and by the integration tests. It refuses to
start when a fixed port is taken; the dev host checks a function key and the Event Grid system
key made for each run; stopping the stack stops every process it started and removes
``stack.json``. Azurite keeps its data in memory (gone when the stack stops) unless the stack
persists (``LOCAL_PERSIST=1`` for ``make run``): then in ``<state dir>/azurite``, saved every 5 s
and when it is stopped (SIGINT: Azurite saves on SIGINT, not on SIGTERM).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from localdev.stack_config import check_ports_free, config_scopes, faithful, foundry_compat_settings, new_keys
from localdev.tls import ensure_local_tls

ROOT = Path(__file__).resolve().parent.parent
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
LOCAL_TOKEN = "local-dev-token"  # noqa: S105 - the emulator accepts any bearer token
PROJECT = "local"
LOCAL_REGISTRY = "myregistry.azurecr.io"
LOCAL_PROJECT_RESOURCE_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-foundry-rg/providers/"
    "Microsoft.CognitiveServices/accounts/my-foundry/projects/my-project"
)


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
    #: The dev host's function key (``x-functions-key`` or ``code``) and Event Grid system key.
    function_key: str = ""
    eventgrid_key: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_deployer_table(app_env: dict[str, str]) -> None:
    """Create the table the app settings name (``DEPLOYER_TABLE_NAME``, default ``deployments``)
    in Azurite, as ``infra/`` creates it in Azure."""
    from azure.data.tables import TableServiceClient

    connection = app_env["DEPLOYER_TABLE_CONNECTION_STRING"]
    with TableServiceClient.from_connection_string(connection) as service:
        service.create_table_if_not_exists(app_env.get("DEPLOYER_TABLE_NAME") or "deployments")


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
        foundry_settings: dict[str, Any] | None = None,
        arm_settings: dict[str, Any] | None = None,
        check_keys: bool | None = None,
        persist: bool = False,
    ) -> None:
        """``foundry_settings``/``arm_settings`` are added to the stand-ins' baseline settings: by
        default the Foundry emulator keeps ``APP_COMPAT_FOUNDRY`` (and any project exists); the ARM
        emulator knows the config's project scopes. ``check_keys``: the dev host checks its keys
        (by default it checks none, as ``func start``; the keys are made and reported either way).
        ``LOCAL_STACK_FAITHFUL=1`` turns every kept behaviour to the platform's (``stack_config``).
        ``persist``: Azurite keeps the table on disk under ``state_dir``, across stops and starts."""
        self.state_dir = state_dir or ROOT / ".local"
        self.config_path = config_path
        self.extra_env = env or {}
        self.run_timers = run_timers
        self.persist = persist
        self.fixed_ports = {"table": table_port or 0, "emulator": emulator_port, "deployer": deployer_port}
        self.ports = {**self.fixed_ports, "table": table_port or free_port()}
        self.foundry_settings = {**foundry_compat_settings(), **(foundry_settings or {})}
        # The config's project scopes, and the one the stack's FOUNDRY_PROJECT_RESOURCE_ID names
        # (what a ${FOUNDRY_PROJECT_RESOURCE_ID} in the config, as in deployer.yaml, resolves to).
        scopes = sorted({*config_scopes(config_path), LOCAL_PROJECT_RESOURCE_ID})
        self.arm_settings = {"scopes": scopes, **(arm_settings or {})}
        self.keys = new_keys()
        self.key_env = (
            {
                "DEVHOST_FUNCTION_KEY": self.keys["function_key"],
                "DEVHOST_EVENTGRID_KEY": self.keys["eventgrid_key"],
            }
            if (faithful() if check_keys is None else check_keys) or faithful()
            else {}
        )
        self.processes: dict[str, subprocess.Popen[str]] = {}
        self.info: StackInfo | None = None
        self.info_path: Path | None = None
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
        check_ports_free(self.fixed_ports)
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        tls = ensure_local_tls(self.state_dir / "tls")
        self._start_azurite(logs)
        # The registry first: the Foundry emulator pulls each new version's image from it.
        registry_command = self._python_module("localdev.acr_emulator", tls.cert_file.parent, {})
        registry = self._spawn("registry", registry_command, logs, {})
        origin = self._start_emulator(logs, tls.cert_file.parent, registry)
        arm_command = self._python_module("localdev.arm_emulator", tls.cert_file.parent, self.arm_settings)
        arm = self._spawn("arm", arm_command, logs, {})
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
            # What the repository's deployer.yaml refers to as ${NAME} (set by infra in Azure).
            "REGISTRY_LOGIN_SERVER": LOCAL_REGISTRY,
            "FOUNDRY_PROJECT_RESOURCE_ID": LOCAL_PROJECT_RESOURCE_ID,
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
            **self.keys,
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
        create_table: bool = True,
    ) -> str:
        """Start (another) dev host on the stack's services, e.g. for scale-out or restart tests;
        ``env`` overrides app settings for this host alone (another table, another project).
        Its table is created first, as infra does in Azure (the app never creates it), unless
        ``create_table`` is false."""
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
        app_env = {**self.app_env, **self.key_env, **(env or {})}
        if create_table:
            create_deployer_table(app_env)
        return self._spawn(name, [sys.executable, *args], logs or self.state_dir / "logs", app_env)

    def stop_process(self, name: str, *, kill: bool = False) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        if kill:
            process.kill()
            process.wait()
        else:  # Azurite saves its files on SIGINT only
            end(process, timeout_s=10, interrupt=name == "azurite")

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_process(name)
        if self.info_path is not None:
            self.info_path.unlink(missing_ok=True)
            self.info_path = None

    def exited(self) -> tuple[str, int] | None:
        """The first child process that has exited, with its exit status, if any has."""
        for name, process in self.processes.items():
            status = process.poll()
            if status is not None:
                return name, status
        return None

    def write_info(self) -> Path:
        """Write ``stack.json`` (keys included, so readable by the owner only); removed by ``stop``."""
        assert self.info is not None
        path = self.state_dir / "stack.json"
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps(asdict(self.info), indent=2) + "\n")
        self.info_path = path
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
            *self._azurite_storage(),
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ]
        log = (logs / "azurite.log").open("a")
        self.processes["azurite"] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)
        _wait_for_port(self.ports["table"], self.processes["azurite"], "Azurite")

    def _azurite_storage(self) -> tuple[str, ...]:
        if not self.persist:
            return ("--inMemoryPersistence",)
        location = self.state_dir / "azurite"
        location.mkdir(parents=True, exist_ok=True)
        return ("--location", str(location))

    @staticmethod
    def _python_module(module: str, tls_dir: Path, settings: dict[str, Any], port: int = 0) -> list[str]:
        return [
            *(sys.executable, "-m", module, "--port", str(port), "--tls-dir", str(tls_dir)),
            *("--settings", json.dumps(settings)),
        ]

    def _start_emulator(self, logs: Path, tls_dir: Path, registry: str) -> str:
        settings = {"registry_endpoint": registry, **self.foundry_settings}
        command = self._python_module("localdev.foundry_emulator", tls_dir, settings, self.ports["emulator"])
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


def end(process: subprocess.Popen[str], *, timeout_s: float, interrupt: bool = False) -> None:
    """Ask ``process`` to stop (SIGTERM, or SIGINT), and kill it if it has not within ``timeout_s``."""
    if interrupt:
        process.send_signal(signal.SIGINT)
    else:
        process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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
