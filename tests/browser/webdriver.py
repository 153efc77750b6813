"""A small W3C WebDriver client for chromedriver (standard library only): headless Chromium
from Debian's packages, a fresh profile, the browser's console log, exact viewport sizes."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Headless, no sandbox (root in a container), and nothing that talks to the network by itself.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
ENTER = "\ue007"
TAB = "\ue004"


class WebDriverError(RuntimeError):
    """chromedriver refused a command."""


def start_driver() -> tuple[subprocess.Popen[bytes], str]:
    """chromedriver on a free loopback port, once it answers ``/status``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/status", timeout=2) as answer:
                if json.load(answer)["value"]["ready"]:
                    return process, url
        except (OSError, ValueError):
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("chromedriver did not start")


class Browser:
    """One browser session."""

    def __init__(self, driver: str, profile: Path) -> None:
        self.driver = driver
        options = {"binary": CHROMIUM, "args": [*FLAGS, f"--user-data-dir={profile}"]}
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": {"browser": "ALL"},
        }
        answer = self._send("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})
        self.session = f"/session/{answer['sessionId']}"

    def quit(self) -> None:
        self._send("DELETE", self.session)

    def open(self, url: str) -> None:
        self.command("POST", "/url", {"url": url})

    def run(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body; ``arguments`` holds ``args``) in the page."""
        return self.command("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css: str) -> str:
        found = self.command("POST", "/element", {"using": "css selector", "value": css})
        assert _ELEMENT in found, found
        return str(found[_ELEMENT])

    def click(self, css: str) -> None:
        """Click the element ``css`` finds (found again if the page rebuilt it meanwhile)."""
        for attempt in range(3):
            try:
                self.command("POST", f"/element/{self.find(css)}/click", {})
                return
            except WebDriverError as exc:
                if "stale element reference" not in str(exc) or attempt == 2:
                    raise

    def type(self, css: str, text: str) -> None:
        """Send keys to the element (``ENTER`` presses Enter)."""
        self.command("POST", f"/element/{self.find(css)}/value", {"text": text})

    def keys(self, text: str) -> None:
        """Press keys where the focus is."""
        strokes = [{"type": kind, "value": key} for key in text for kind in ("keyDown", "keyUp")]
        actions = [{"type": "key", "id": "keyboard", "actions": strokes}]
        self.command("POST", "/actions", {"actions": actions})

    def viewport(self, width: int, height: int) -> None:
        """An exact CSS viewport (a phone's is ``mobile``)."""
        params = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}
        self.command(
            "POST", "/goog/cdp/execute", {"cmd": "Emulation.setDeviceMetricsOverride", "params": params}
        )

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.command("GET", "/screenshot")))

    def console_errors(self) -> list[str]:
        """The console's errors since the last call (failed loads included)."""
        entries = self.command("POST", "/se/log", {"type": "browser"})
        return [e["message"] for e in entries if e["level"] == "SEVERE"]

    def wait_for(self, probe: Callable[[], Any], what: str, timeout_s: float = 30) -> Any:
        """``probe()`` once it is truthy; fails naming ``what`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.2)

    def command(self, method: str, path: str, body: Any = None) -> Any:
        return self._send(method, self.session + path, body)

    def _send(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.driver + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.load(answer)["value"]
        except urllib.error.HTTPError as exc:
            raise WebDriverError(f"{method} {path}: {exc.read().decode(errors='replace')[:500]}") from None
