"""One local stack (Azurite, the Foundry emulator, the dev host serving function_app) for the
integration tests, on free ports, started once per session."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from localdev.stack import Stack, StackInfo
from tests.integration.registry_seed import seed, seed_pushed

HERE = Path(__file__).parent
FIXTURES = HERE.parent / "fixtures"


class Http:
    """A tiny JSON client for the dev host and the emulator's admin API."""

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
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
        )
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

    def deliver(self, events: Any, *, cloud: bool = False, push: bool = True) -> int:
        """Deliver ``events`` to the dev host; ``push``: their images are put in the registry
        first, as a real push does (``False``: events of images the registry does not hold)."""
        if push:
            seed_pushed(self.info.registry_endpoint, self.info.foundry_ca_bundle, _listed(events))
        headers = {"aeg-event-type": "Notification"}
        if cloud:
            headers["Content-Type"] = "application/cloudevents+json"
        url = f"{self.info.deployer_url}/runtime/webhooks/eventgrid?functionName=on_image_pushed"
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
    with Stack(config_path=HERE / "deployer.test.yaml", state_dir=state, env=env) as running:
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
    http.emulator("PUT", "settings", {"provision_delay_s": 0.5, "missing_images": [], "faults": []})


def _listed(events: Any) -> list[Any]:
    return events if isinstance(events, list) else [events]


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())
