"""The installed CLI on an 80-column pseudo-terminal (read back through pyte, a terminal
emulator): ``deploy --wait`` keeps its progress on one line updated in place, never wrapped,
against a scripted deployer served by a local stdlib HTTP server."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyte
import pytest

from tests.unit.builders import deployment

CLI = Path(sys.executable).parent / "agent-deployer"
LONG_IMAGE = "myregistry.azurecr.io/agents/" + "a-rather-long-repository-name/" * 3 + "bot:1.0.0"


def state(status):
    return {**deployment(status), "image": LONG_IMAGE}


class Deployer(BaseHTTPRequestHandler):
    """POST starts the deployment; each GET moves it on: creating three times, then active."""

    script: list = []

    def do_POST(self):
        self._answer(state("pending"))

    def do_GET(self):
        self._answer(self.script.pop(0) if len(self.script) > 1 else self.script[0])

    def _answer(self, body):
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def deployer_url():
    Deployer.script = [state("creating")] * 3 + [state("active")]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Deployer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def on_terminal(argv, columns=80, rows=24, **env):
    """Run the CLI on a pseudo-terminal of ``columns``; the screen it leaves."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    process = subprocess.Popen(
        [str(CLI), *argv], stdin=follower, stdout=follower, stderr=follower, env={**environment, **env}
    )
    os.close(follower)
    screen = pyte.Screen(columns, rows)
    stream = pyte.ByteStream(screen)
    raw = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the CLI closed the terminal
            break
        if not chunk:
            break
        raw += chunk
    os.close(leader)
    assert process.wait(timeout=30) == 0
    stream.feed(raw)
    return [line.rstrip() for line in screen.display if line.strip()], raw


def test_the_live_line_stays_one_line_cut_to_80_columns(deployer_url):
    argv = ["--url", deployer_url, "deploy", "bot", LONG_IMAGE, "--wait", "--interval", "0.05"]
    lines, raw = on_terminal(argv, TERM="xterm", NO_COLOR="1")
    assert lines[0] == "deployment 0123 started for bot"
    progress = [line for line in lines if line.startswith("bot myregistry")]
    assert len(progress) == 1 and len(progress[0]) == 79 and progress[0].endswith("…")
    assert lines[-1].startswith("bot version 3: active in 4.2s")
    assert raw.count(b"\r\x1b[K") >= 4  # rewritten in place, once per state seen
    assert b"\x1b[3" not in raw  # NO_COLOR


def test_the_status_is_coloured_on_a_colour_terminal(deployer_url):
    argv = ["--url", deployer_url, "deploy", "bot", LONG_IMAGE, "--wait", "--interval", "0.05"]
    _, raw = on_terminal(argv, TERM="xterm")
    assert b": \x1b[32mactive\x1b[0m" in raw
