"""``promote``, ``abort`` and ``promote-to`` through the real CLI (``cli.main``) against the HTTP
triggers on the fakes, served by a local stdlib HTTP server; and how ``status``/``list`` show a
canary's share of the traffic and promotion links."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import azure.functions as func
import pytest

from deployer.cli import main as cli
from deployer.cli import text
from deployer.entrypoints.http import routes as http_api
from tests.unit.builders import (
    canary_context,
    deployment,
    live,
    promotion_context,
    push,
    run,
    serving,
    stable_then_canary,
)
from tests.unit.http_helpers import FakeRoot, FakeSettings

ROUTES = [
    ("GET", re.compile(r"/api/agents"), http_api.list_agents),
    ("GET", re.compile(r"/api/deployments"), http_api.list_deployments),
    ("POST", re.compile(r"/api/deployments/(?P<id>\w+)/promote"), http_api.promote_canary),
    ("POST", re.compile(r"/api/deployments/(?P<id>\w+)/abort"), http_api.abort_canary),
    ("POST", re.compile(r"/api/agents/(?P<agent>[\w-]+)/promote"), http_api.promote_agent),
    ("GET", re.compile(r"/api/deployments/(?P<id>\w+)"), http_api.get_deployment),
]


class Handler(BaseHTTPRequestHandler):
    """Hands each request to the trigger its route names, as the Functions host would."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path, _, query = self.path.partition("?")
        for verb, pattern, function in ROUTES:
            found = pattern.fullmatch(path)
            if verb == method and found:
                request = func.HttpRequest(
                    method,
                    self.path,
                    headers=dict(self.headers),
                    params=dict(parse_qsl(query)),
                    route_params=found.groupdict(),
                    body=body,
                )
                answer = function(request)
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.get_body())
                return
        self.send_error(404)

    def log_message(self, *args: object) -> None:
        pass


def serve(monkeypatch, ctx):
    monkeypatch.setattr(http_api, "root", lambda: FakeRoot(ctx, FakeSettings()))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def canary(monkeypatch):
    ctx = canary_context()
    server, url = serve(monkeypatch, ctx)
    yield ctx, url
    server.shutdown()


@pytest.fixture
def promo(monkeypatch):
    ctx = promotion_context()
    server, url = serve(monkeypatch, ctx)
    yield ctx, url
    server.shutdown()


def test_promote_and_abort_act_on_a_canary(canary, capsys):
    ctx, url = canary
    second = stable_then_canary(ctx)
    assert cli.main(["--url", url, "promote", second.id, "--json"]) == cli.EXIT_OK
    assert json.loads(capsys.readouterr().out)["canary"]["promote"] is True
    third = live(ctx, push(ctx, "v3", 3))
    assert ctx.store.records[third.id].status == "canary"
    assert cli.main(["--url", url, "abort", third.id]) == cli.EXIT_OK
    assert capsys.readouterr().out.startswith("vbot version 3: rolled_back")
    assert serving(ctx)[0] == ("2", 100)


def test_an_agents_name_stands_for_its_running_canary_and_a_repeated_promote_exits_0(canary, capsys):
    ctx, url = canary
    second = stable_then_canary(ctx)
    assert cli.main(["--url", url, "promote", "vbot"]) == cli.EXIT_OK
    assert second.id in capsys.readouterr().out
    run(ctx, 3)
    assert ctx.store.records[second.id].status == "verified"
    assert cli.main(["--url", url, "promote", "vbot"]) == cli.EXIT_OK
    assert "its canary already finished; nothing to do" in capsys.readouterr().out
    assert cli.main(["--url", url, "promote", second.id]) == cli.EXIT_OK
    assert "already finished" in capsys.readouterr().out


def test_abort_of_an_agent_without_a_running_canary_exits_3(canary, capsys):
    ctx, url = canary
    live(ctx, push(ctx, "v1", 1))
    assert cli.main(["--url", url, "abort", "vbot"]) == cli.EXIT_REFUSED
    assert "vbot: no canary is running" in capsys.readouterr().err


def test_an_aborted_canary_is_not_promoted_again_quietly(canary, capsys):
    ctx, url = canary
    second = stable_then_canary(ctx)
    assert cli.main(["--url", url, "abort", second.id]) == cli.EXIT_OK
    assert cli.main(["--url", url, "promote", second.id]) == cli.EXIT_REFUSED
    assert "409" in capsys.readouterr().err


def test_status_of_an_agent_shows_its_latest_deployment(canary, capsys):
    ctx, url = canary
    second = stable_then_canary(ctx)
    assert cli.main(["--url", url, "status", "vbot", "--json"]) == cli.EXIT_OK
    assert json.loads(capsys.readouterr().out)["id"] == second.id


def test_a_deployment_not_in_a_canary_is_refused_with_exit_3(canary, capsys):
    ctx, url = canary
    first = live(ctx, push(ctx, "v1", 1))
    assert cli.main(["--url", url, "abort", first.id]) == cli.EXIT_REFUSED
    assert "409" in capsys.readouterr().err
    assert cli.main(["--url", url, "promote", "0" * 19]) == cli.EXIT_REFUSED


def test_promote_to_waits_for_the_target_deployment(promo, capsys):
    ctx, url = promo
    staged = live(ctx, push(ctx, "v1", 1))
    target = ctx.store.records[staged.promoted_to]
    ctx.platform.set_status("vbot-prod", target.version, "active")
    run(ctx, 3)  # the target's first version has nothing to canary against
    argv = ["--url", url, "promote-to", "vbot", "--to", "vbot-prod", "--wait", "--interval", "0"]
    assert cli.main(argv) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("vbot-prod version 1: verified") and target.id in out


def test_promote_to_without_a_verified_deployment_exits_3(promo, capsys):
    _, url = promo
    assert cli.main(["--url", url, "promote-to", "vbot", "--to", "vbot-prod"]) == cli.EXIT_REFUSED
    assert "no verified deployment" in capsys.readouterr().err


def test_promote_to_needs_a_target():
    with pytest.raises(SystemExit) as exited:
        cli.main(["promote-to", "vbot"])
    assert exited.value.code == cli.EXIT_ERROR


def test_status_and_list_show_the_canary_and_promotion_links():
    canary = {"stable": "1", "step": 0, "percentage": 10, "promote": True, "promoted_by": "ana"}
    d = {**deployment("canary"), "canary": canary, "promoted_to": "0456", "promoted_from": "0789"}
    shown = text.deployment(d)
    assert "canary:         10% of the traffic (stable version 1), promoted by ana" in shown
    assert "promoted to:    0456" in shown and "promoted from:  0789" in shown
    listed = text.deployments([d, deployment("active")]).splitlines()
    assert listed[0].split()[-1] == "PROMOTION"
    assert "canary 10%" in listed[1] and listed[1].endswith("to 0456, from 0789")
    assert listed[2].split()[2] == "active" and listed[2].endswith("-")
    assert text.deployments([deployment("active")]).splitlines()[0].split()[-1] == "IMAGE"
