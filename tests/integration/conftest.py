"""One local stack (Azurite, the Foundry emulator, the dev host serving function_app) for the
integration tests, on free ports, started once per session; and an in-process Foundry emulator
per module for the emulator's own tests (``tls``, ``emulator``, ``admin``, ``project``)."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.ai.projects import AIProjectClient

from deployer.adapters.credentials import StaticTokenCredential
from localdev.foundry_emulator import EmulatorServer, start_emulator
from localdev.stack import Stack, StackInfo
from localdev.stack_config import config_scopes
from localdev.tls import LocalTLS, ensure_local_tls
from tests.integration.foundry_support import CA_ENV_VARS, Admin
from tests.registry_seed import StandIn, seed, seed_pushed

HERE = Path(__file__).parent
FIXTURES = HERE.parent / "fixtures"


#: The Foundry projects the tests use (``fnmatch`` patterns): the stack's own and those tests make
#: up for a deployer of their own; any other project is a 404, as on the platform.
TEST_PROJECTS = ["local", "p????????", "c????????", "v????????", "notify??????", "fm-*"]
#: Project scopes of test configs other than ``deployer.test.yaml`` that grant roles on the stack's ARM.
TEST_SCOPES = [
    "/subscriptions/00000000-0000-0000-0000-000000000003/resourceGroups/rg/providers/"
    "Microsoft.CognitiveServices/accounts/foundry/projects/verified",
]


def with_keys(info: StackInfo, url: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The URL and headers with the stack's dev host keys, as a caller that holds them sends them
    to any of its dev hosts: the Event Grid system key as ``code`` on the webhook, the function
    key as ``x-functions-key`` on ``/api``."""
    if any(url.startswith(origin) for origin in (info.foundry_origin, info.arm_endpoint) if origin):
        return url, headers
    if "/runtime/webhooks/eventgrid" in url:
        return (url if "code=" in url else f"{url}&code={info.eventgrid_key}"), headers
    if "/api/" in url:
        return url, {"x-functions-key": info.function_key, **headers}
    return url, headers


class Http:
    """A tiny JSON client for the dev host (sending its keys) and the emulator's admin API."""

    def __init__(self, info: StackInfo) -> None:
        self.info = info
        self._tls = ssl.create_default_context(cafile=info.foundry_ca_bundle)

    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        *,
        keys: bool = True,
    ) -> tuple[int, Any]:
        """One request; ``keys=False`` sends it without the dev host's keys."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": "application/json", **(headers or {})}
        if keys:
            url, headers = with_keys(self.info, url, headers)
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self._tls) as response:
                text = response.read()
                return response.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as exc:
            text = exc.read()
            try:
                return exc.code, json.loads(text)
            except ValueError:
                return exc.code, text.decode(errors="replace")

    def deliver(self, events: Any, *, cloud: bool = False, host: str | None = None, push: bool = True) -> int:
        """Post ``events`` to the Event Grid webhook of the stack's dev host (or ``host``); ``push``:
        their images are put in the registry first, as a real push does (``False``: events of
        images the registry does not hold)."""
        if push:
            seed_pushed(self.info.registry_endpoint, self.info.foundry_ca_bundle, _listed(events))
        headers = {"aeg-event-type": "Notification"}
        if cloud:
            headers["Content-Type"] = "application/cloudevents+json"
        url = f"{host or self.info.deployer_url}/runtime/webhooks/eventgrid?functionName=on_image_pushed"
        return self.request("POST", url, events, headers)[0]

    def seed(self, image: str, *, digest: str | None = None, platforms: list[str] | None = None) -> str:
        """Put ``image`` in the registry stand-in; its digest."""
        where = (self.info.registry_endpoint, self.info.foundry_ca_bundle)
        found = seed(*where, image, digest=digest, platforms=platforms)
        return str(found["digest"])

    def registry(self, method: str, path: str, body: Any = None) -> Any:
        """The registry stand-in's admin API."""
        status, answer = self.request(method, f"{self.info.registry_endpoint}/_emulator/{path}", body)
        assert status < 300, answer
        return answer

    def api(self, path: str) -> Any:
        status, body = self.request("GET", f"{self.info.deployer_url}/api/{path}")
        assert status == 200, body
        return body

    def emulator(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.request(method, f"{self.info.foundry_origin}/_emulator/{path}", body)
        assert status < 300, answer
        return answer

    def versions_created(self, agent: str) -> int:
        log = self.emulator("GET", "requests")["requests"]
        return sum(
            1 for r in log if r["method"] == "POST" and r["path"].endswith(f"/agents/{agent}/versions")
        )

    def wait_for(self, deployment_id: str, statuses: set[str], timeout_s: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.api(f"deployments/{deployment_id}")
            if found["status"] in statuses or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def records_for(self, event_id: str) -> list[dict[str, Any]]:
        items = self.api("deployments?limit=200")["items"]
        return [d for d in items if d["event_id"] == event_id]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory):
    state = tmp_path_factory.mktemp("stack")
    env = {"POLL_SCHEDULE": "*/1 * * * * *"}
    config = HERE / "deployer.test.yaml"
    with Stack(
        config_path=config,
        state_dir=state,
        env=env,
        foundry_settings={"projects": TEST_PROJECTS},
        arm_settings={"scopes": [*config_scopes(config), *TEST_SCOPES]},
        # Kept off while the CLI tests (and one raw request in test_http_api) send no key; the
        # client here sends the keys, and test_local_stack checks them on the make-run stack.
        check_keys=None,
    ) as running:
        assert running.info is not None
        StandIn.use(running.info.registry_endpoint, running.info.foundry_ca_bundle)
        yield running


@pytest.fixture(scope="session")
def http(stack: Stack) -> Http:
    assert stack.info is not None
    client = Http(stack.info)
    client.emulator("PUT", "settings", {"provision_delay_s": 0.5})
    return client


@pytest.fixture
def emulator_settings(http: Http):
    """Apply emulator settings for one test, and put the defaults back after it."""

    def apply(**settings: Any) -> None:
        http.emulator("PUT", "settings", settings)

    yield apply
    http.emulator("PUT", "settings", {"provision_delay_s": 0.5, "failing_images": {}, "faults": []})


def _listed(events: Any) -> list[Any]:
    return events if isinstance(events, list) else [events]


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


# -- the in-process Foundry emulator ------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> LocalTLS:
    return ensure_local_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def emulator(tls: LocalTLS) -> Iterator[EmulatorServer]:
    server = start_emulator(tls=tls)
    yield server
    server.shutdown()


@pytest.fixture
def admin(emulator: EmulatorServer, tls: LocalTLS) -> Admin:
    helper = Admin(emulator, tls)
    helper.reset()
    helper.settings(provision_delay_s=0.2, delete_delay_s=0.2)
    return helper


@pytest.fixture
def trusted(monkeypatch: pytest.MonkeyPatch, tls: LocalTLS) -> LocalTLS:
    """Trust the local CA the standard way, as the deployer's settings would."""
    for name in CA_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_bundle))
    return tls


@pytest.fixture
def make_project(emulator: EmulatorServer) -> Callable[..., AIProjectClient]:
    def make(project: str = "demo", **kwargs: Any) -> AIProjectClient:
        return AIProjectClient(
            endpoint=emulator.project_endpoint(project),
            credential=StaticTokenCredential("test-token"),
            allow_preview=True,
            **kwargs,
        )

    return make


@pytest.fixture
def project(trusted: LocalTLS, make_project: Callable[..., AIProjectClient]) -> AIProjectClient:
    return make_project()
