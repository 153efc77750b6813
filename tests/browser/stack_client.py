"""Calls the browser tests make to the local stack besides the page's: pushes through the Event
Grid webhook, the API with the function key, the Foundry emulator's settings."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from deployer.cli.simulate import image_pushed_event
from localdev.stack import StackInfo
from tests.registry_seed import seed, seed_pushed

REGISTRY = "myregistry.azurecr.io"


class StackClient:
    def __init__(self, info: StackInfo) -> None:
        self.info = info
        self._tls = ssl.create_default_context(cafile=info.foundry_ca_bundle)

    def push(self, agent: str, tag: str) -> None:
        """An ACR ImagePushed event for ``agents/<agent>:<tag>``, as Event Grid delivers it, its
        image put in the registry stand-in first (as ``docker push`` does)."""
        url = f"{self.info.deployer_url}/runtime/webhooks/eventgrid?functionName=on_image_pushed"
        event = image_pushed_event(f"{REGISTRY}/agents/{agent}:{tag}")
        seed_pushed(self.info.registry_endpoint, self.info.foundry_ca_bundle, [event])
        status, _ = self._send(
            "POST", f"{url}&code={self.info.eventgrid_key}", [event], {"aeg-event-type": "Notification"}
        )
        assert status < 300, status

    def seed(self, agent: str, tag: str) -> str:
        """``agents/<agent>:<tag>`` put in the registry stand-in (a push without its event)."""
        image = f"{REGISTRY}/agents/{agent}:{tag}"
        seed(self.info.registry_endpoint, self.info.foundry_ca_bundle, image)
        return image

    def api(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"x-functions-key": self.info.function_key}
        status, answer = self._send(method, f"{self.info.deployer_url}/api/{path}", body, headers)
        assert status < 300, (status, answer)
        return answer

    def emulator_settings(self, **settings: Any) -> None:
        status, answer = self._send("PUT", f"{self.info.foundry_origin}/_emulator/settings", settings)
        assert status < 300, answer

    def _send(
        self, method: str, url: str, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=30, context=self._tls) as answer:
                text = answer.read()
                return answer.status, json.loads(text) if text else None
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")
