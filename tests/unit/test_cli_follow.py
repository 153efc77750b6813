"""``--wait`` against a scripted client and a fake clock: retries through an unavailable deployer
until the timeout, the heartbeat when piped, a line per canary step, the live line cut to the
terminal's width, and what ``deploy --wait`` prints first and on a timeout."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from deployer.cli import follow as following
from deployer.cli.base import EXIT_OK, EXIT_TIMED_OUT
from deployer.cli.client import ApiError
from tests.unit.builders import deployment
from tests.unit.cli_fakes import FakeTime, ScriptedClient, Terminal

UNREACHABLE = ApiError("cannot reach http://x:1: Connection refused")
BAD_GATEWAY = ApiError("GET /api/deployments/0123: 502 Bad Gateway", status=502)


def run_follow(client, start, timeout_s=None, interval_s=10.0, out=None):
    time = FakeTime()
    out = out if out is not None else io.StringIO()
    final, timed_out = following.follow(
        client, start, timeout_s, interval_s, out, clock=time.clock, sleep=time.sleep
    )
    return final, timed_out, out.getvalue().splitlines(), time


def canary(*shifts, status="canary", next_at="2026-11-18T11:06:40.000Z"):
    history = [{"status": "verifying", "at": "t"}]
    history += [{"status": "traffic_shifted", "at": "t", "percentage": p} for p in shifts]
    d = deployment(status, history=history)
    step = len(shifts) - 1
    d["canary"] = {"stable": "2", "step": step, "percentage": shifts[-1], "next_at": next_at}
    return d


def test_connection_errors_and_5xx_are_retried_with_growing_waits():
    client = ScriptedClient(UNREACHABLE, BAD_GATEWAY, UNREACHABLE, deployment("active"))
    final, timed_out, lines, time = run_follow(client, deployment("creating"), interval_s=0.5)
    assert (final["status"], timed_out, client.gets) == ("active", False, 4)
    assert time.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert [line.rsplit("; ", 1)[1] for line in lines if "retrying" in line] == [
        "retrying in 1s",
        "retrying in 2s",
        "retrying in 4s",
    ]
    assert "502 Bad Gateway" in lines[2]


def test_a_deployer_unreachable_until_the_timeout_ends_the_wait_as_timed_out():
    final, timed_out, _, time = run_follow(ScriptedClient(UNREACHABLE), deployment("creating"), 60.0, 1.0)
    assert (final["status"], timed_out) == ("creating", True)
    assert sum(time.sleeps) == pytest.approx(60.0)
    assert time.sleeps[:6] == [1.0, 1.0, 2.0, 4.0, 8.0, 15.0]


def test_a_refusal_while_waiting_is_not_retried():
    gone = ApiError("GET /api/deployments/0123: 404 Not Found", status=404)
    client = ScriptedClient(gone)
    with pytest.raises(ApiError):
        run_follow(client, deployment("creating"))
    assert client.gets == 1


def test_piped_output_has_a_heartbeat_every_30_seconds():
    still = [deployment("creating")] * 10
    _, _, lines, _ = run_follow(ScriptedClient(*still, deployment("active")), deployment("creating"))
    assert [line for line in lines if line.startswith("still")] == [
        "still creating after 30s",
        "still creating after 1m0s",
        "still creating after 1m30s",
    ]
    assert lines[0].startswith("bot ") and ": creating" in lines[0] and ": active" in lines[-1]


def test_every_canary_step_is_a_line_of_its_own():
    script = [canary(10), canary(10), canary(10, 50), canary(10, 50, 100, status="verified")]
    client = ScriptedClient(*script, agents=[{"name": "bot", "canary_steps": [10, 50, 100]}])
    final, _, lines, _ = run_follow(client, deployment("verifying"))
    assert final["status"] == "verified"
    assert [line for line in lines if line.startswith("canary ")] == [
        "canary 0% → 10% (step 1/3, next at 11:06:40Z)",
        "canary 10% → 50% (step 2/3, next at 11:06:40Z)",
        "canary 50% → 100% (step 3/3)",
    ]


def test_steps_taken_while_the_deployer_was_unreachable_get_their_lines_too():
    script = [canary(10), UNREACHABLE, canary(10, 50, 100, status="verified")]
    client = ScriptedClient(*script, agents=[{"name": "bot", "canary_steps": [10, 50, 100]}])
    _, _, lines, _ = run_follow(client, deployment("verifying"))
    assert [line for line in lines if line.startswith("canary ")] == [
        "canary 0% → 10% (step 1/3, next at 11:06:40Z)",
        "canary 10% → 50% (step 2/3)",
        "canary 50% → 100% (step 3/3)",
    ]


def test_a_promotion_and_unknown_steps_are_said_as_such():
    assert following.canary_step(10, 100, [10, 50, 100], None) == "canary 10% → 100% (step 3/3)"
    assert following.canary_step(10, 100, [10, 100], None) == "canary 10% → 100% (step 2/2)"
    assert following.canary_step(10, 100, None, None) == "canary 10% → 100% (promoted)"
    at = "2026-11-18T11:06:40.000Z"
    assert following.canary_step(10, 30, None, at) == "canary 10% → 30% (at 30%, next at 11:06:40Z)"


def test_the_live_line_is_rewritten_in_place_and_cut_to_the_terminal_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm")
    long = deployment("creating")
    long["image"] = "myregistry.azurecr.io/agents/" + "very-long-repository-name/" * 4 + "bot:1.0.0"
    _, _, _, _ = run_follow(ScriptedClient(long, deployment("active")), long, out=(out := Terminal()))
    shown = out.getvalue()
    assert shown.endswith("\n") and shown.count("\n") == 1
    frames = shown.rstrip("\n").split("\r\x1b[K")[1:]
    assert len(frames) == 3 and all(len(frame) < 80 for frame in frames)
    assert frames[0].endswith("…") and ": active" in frames[-1]


def args(**options):
    defaults = {"wait": True, "json": False, "timeout": None, "interval": 0.0, "url": None}
    return argparse.Namespace(**{**defaults, **options})


def test_deploy_wait_prints_the_deployment_id_first(capsys):
    client = ScriptedClient(deployment("active"))
    assert following.report(args(), client, deployment("pending")) == EXIT_OK
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "deployment 0123 started for bot"


def test_with_json_the_first_line_is_the_started_deployment_and_the_last_the_outcome(capsys):
    following.report(args(json=True), ScriptedClient(deployment("active")), deployment("pending"))
    first, last = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (first["id"], first["status"], last["status"]) == ("0123", "pending", "active")


def test_a_wait_that_runs_out_says_so_and_how_to_follow_up(capsys):
    code = following.report(
        args(timeout=0.0, url="http://d:1"), ScriptedClient(deployment("creating")), deployment("creating")
    )
    assert code == EXIT_TIMED_OUT
    assert (
        "gave up waiting after 0s: the deployment is still creating; follow it with:"
        " agent-deployer status 0123 --url http://d:1"
    ) in capsys.readouterr().err
