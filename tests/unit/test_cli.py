"""The agent-deployer CLI without a deployer: arguments, exit codes, config check, rendering,
and the progress display (against a hand-written client)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from deployer.cli import main as cli
from deployer.cli import notification_commands, text
from deployer.cli.follow import follow
from deployer.cli.terminal import printable
from tests.unit.builders import deployment
from tests.unit.cli_fakes import ScriptedClient

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "argv",
    [
        ["--url", "http://x:1", "--key", "k", "status", "1"],
        ["status", "1", "--url", "http://x:1", "--key", "k"],
        ["status", "--key", "k", "1", "--url", "http://x:1"],
    ],
)
def test_url_and_key_are_accepted_before_and_after_the_command(argv):
    args = cli._parser().parse_args(argv)
    client = cli._client(args)
    assert (client.url, client.key) == ("http://x:1", "k")


def test_url_and_key_default_to_the_environment(monkeypatch):
    monkeypatch.setenv("DEPLOYER_URL", "http://env:2/")
    monkeypatch.setenv("DEPLOYER_KEY", "env-key")
    client = cli._client(cli._parser().parse_args(["agents"]))
    assert (client.url, client.key) == ("http://env:2", "env-key")


def test_a_usage_error_does_not_look_like_a_timeout(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["deploy", "bot"])
    assert exited.value.code == cli.EXIT_ERROR != cli.EXIT_TIMED_OUT
    with pytest.raises(SystemExit) as exited:
        cli.main(["deploy", "bot", "r.azurecr.io/a:1", "--env", "NOVALUE"])
    assert exited.value.code == cli.EXIT_ERROR


def test_an_unreachable_deployer_exits_4(capsys):
    assert cli.main(["--url", "http://127.0.0.1:9", "agents"]) == cli.EXIT_ERROR
    assert "cannot reach http://127.0.0.1:9" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("status", "history", "code"),
    [
        ("creating", None, 0),
        ("verifying", None, 0),
        ("active", None, 0),
        ("verified", None, 0),
        ("failed", None, 1),
        ("unhealthy", None, 1),
        ("timed_out", None, 2),
        ("skipped", None, 3),
        ("refused", None, 3),
        ("superseded", [{"status": "active", "at": "t"}, {"status": "superseded", "at": "t"}], 0),
        ("superseded", [{"status": "creating", "at": "t"}, {"status": "superseded", "at": "t"}], 1),
        ("superseded", [{"status": "verified", "at": "t"}, {"status": "superseded", "at": "t"}], 0),
    ],
)
def test_exit_codes_are_made_for_pipelines(status, history, code):
    assert cli.exit_code(deployment(status, history=history)) == code


def test_config_check_accepts_a_valid_file(capsys):
    path = ROOT / "tests" / "integration" / "deployer.test.yaml"
    assert cli.main(["config", "check", str(path)]) == 0
    assert ": ok (" in capsys.readouterr().out


def test_config_check_names_every_problem_of_an_invalid_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "registries: [Not A Registry]\nagents:\n  - name: -x-\n    repository: agents/x\n    memory: lots\n"
    )
    assert cli.main(["config", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "agents[0].name" in err and "agents[0].memory" in err


def test_follow_prints_a_line_per_change_and_stops_at_the_end_state():
    client = ScriptedClient(deployment("creating"), deployment("creating"), deployment("active"))
    out = io.StringIO()
    final, timed_out = follow(client, deployment("pending", version=None), None, 0, out)
    assert (final["status"], timed_out) == ("active", False)
    assert [line.split(": ")[1].split(" after")[0] for line in out.getvalue().splitlines()] == [
        "pending",
        "creating (version 3)",
        "active (version 3)",
    ]


def test_follow_gives_up_after_the_timeout():
    client = ScriptedClient(deployment("creating"))
    final, timed_out = follow(client, deployment("creating"), 0.0, 0, io.StringIO())
    assert timed_out and final["status"] == "creating" and client.gets == 0


def test_tables_align_their_columns_and_show_missing_values_as_dashes():
    rendered = text.table(("A", "LONGER"), [("x", None), ("wide-value", 2)]).splitlines()
    assert rendered == ["A           LONGER", "x           -", "wide-value  2"]


def test_a_failed_deployment_shows_its_error_and_what_to_do():
    error = {
        "code": "AcrImageNotFound",
        "message": "not found",
        "hint": "Correct image name/tag or publish image.",
    }
    shown = text.deployment(deployment("failed", error=error))
    assert "AcrImageNotFound: not found" in shown and "hint:" in shown and "history:" in shown
    assert text.outcome(deployment("active")) == "bot version 3: active in 4.2s  [0123]"


def notification(state, *, host="hooks.example.com"):
    return {
        "id": "8199999999999abcdef.creating.w0123",
        "deployment_id": "8199999999999abcdef",
        "agent": "bot",
        "type": "deployment.creating",
        "event_id": "8199999999999abcdef.creating",
        "subscriber": {"key": "w0123", "format": "cloudevents", "host": host},
        "state": state,
        "attempts": 1,
        "last_result": "410",
        "last_attempt_at": "2026-11-25T06:34:45.000Z",
        "next_attempt_at": "2026-11-25T06:39:45.000Z" if state == "pending" else None,
        "delivered_at": None,
        "created_at": "2026-11-25T06:34:44.000Z",
    }


def test_notification_commands_parse_their_options():
    args = cli._parser().parse_args(["notifications", "--state", "dead", "--json", "--limit", "5"])
    assert (args.run, args.state, args.json, args.limit) == (
        notification_commands._notifications,
        "dead",
        True,
        5,
    )
    assert cli._parser().parse_args(["redeliver", "a.b.c"]).id == "a.b.c"
    with pytest.raises(SystemExit) as exited:
        cli.main(["notifications", "--state", "lost"])
    assert exited.value.code == cli.EXIT_ERROR


def test_notifications_show_the_subscriber_by_format_and_host():
    rendered = text.notifications([notification("dead"), notification("pending", host=None)]).splitlines()
    assert rendered[0].split() == ["ID", "STATE", "TYPE", "AGENT", "SUBSCRIBER", "TRIES", "LAST", "WHEN"]
    assert "cloudevents hooks.example.com" in rendered[1] and "2026-11-25T06:34:45Z" in rendered[1]
    assert "w0123 (no longer configured)" in rendered[2] and "2026-11-25T06:39:45Z" in rendered[2]
    assert text.redelivered(notification("pending")) == (
        "8199999999999abcdef.creating.w0123: pending, queued for cloudevents hooks.example.com"
    )


def test_redelivering_through_an_unreachable_deployer_exits_4(capsys):
    assert cli.main(["--url", "http://127.0.0.1:9", "redeliver", "a.b.c"]) == cli.EXIT_ERROR
    assert "cannot reach" in capsys.readouterr().err


def smoke(status, attempts, **fields):
    return {"status": status, "attempts": attempts, "latency_ms": 12.4, "http_status": 200, **fields}


def test_follow_waits_through_verifying_and_shows_the_smoke_test():
    client = ScriptedClient(
        deployment("verifying", smoke=smoke("running", 1, detail="HTTP 500")),
        deployment("verified", smoke=smoke("passed", 2)),
    )
    out = io.StringIO()
    final, timed_out = follow(client, deployment("creating"), None, 0, out)
    assert (final["status"], timed_out, cli.exit_code(final)) == ("verified", False, cli.EXIT_OK)
    assert [line.split(": ", 1)[1].split(" after")[0] for line in out.getvalue().splitlines()] == [
        "creating (version 3)",
        "verifying (version 3, smoke test running, 1 attempt, 12 ms, HTTP 500)",
        "verified (version 3, smoke test passed, 2 attempts, 12 ms)",
    ]


def test_an_unhealthy_deployment_ends_the_wait_with_exit_1():
    bad = deployment("unhealthy", smoke=smoke("failed", 3, detail="no answer within 1 s"))
    final, timed_out = follow(ScriptedClient(bad), deployment("verifying"), None, 0, io.StringIO())
    assert (final["status"], timed_out, cli.exit_code(final)) == ("unhealthy", False, cli.EXIT_FAILED)
    assert "smoke test:     smoke test failed, 3 attempts, 12 ms, no answer within 1 s" in text.deployment(
        bad
    )


def test_hold_and_pause_commands_parse_their_arguments():
    parse = cli._parser().parse_args
    assert (parse(["holds", "bot", "--json"]).agent, parse(["holds", "bot", "--json"]).json) == ("bot", True)
    unhold = parse(["unhold", "bot", "sha256:" + "a" * 64])
    assert (unhold.agent, unhold.digest) == ("bot", "sha256:" + "a" * 64)
    assert parse(["pause", "bot"]).agent == parse(["resume", "bot"]).agent == "bot"
    with pytest.raises(SystemExit) as exited:
        cli.main(["unhold", "bot"])
    assert exited.value.code == cli.EXIT_ERROR


@pytest.mark.parametrize(
    "argv", [["holds", "bot"], ["unhold", "bot", "sha256:4f1c2a9b7e3d"], ["pause", "bot"]]
)
def test_hold_commands_against_an_unreachable_deployer_exit_4(argv, capsys):
    assert cli.main(["--url", "http://127.0.0.1:9", *argv]) == cli.EXIT_ERROR
    assert "cannot reach" in capsys.readouterr().err


def test_holds_and_pause_render_for_people():
    held = {
        "digest": "sha256:" + "a" * 64,
        "reason": "rollback",
        "at": "2026-11-25T06:34:44.123Z",
        "by": "ana",
        "deployment_id": "0123",
    }
    rendered = text.holds("bot", {"items": [held], "paused": True}).splitlines()
    assert rendered[0] == "bot: paused (pushes are skipped)"
    assert rendered[1].split() == ["DIGEST", "REASON", "SINCE", "BY", "DEPLOYMENT"]
    assert rendered[2].split()[:2] == [held["digest"], "rollback"] and "2026-11-25T06:34:44Z" in rendered[2]
    assert text.holds("bot", {"items": [], "paused": False}) == "bot: not paused\nno digests held"
    assert (
        text.released("bot", "sha256:x", {"released": False}) == "bot: sha256:x was not held; nothing changed"
    )
    state = {"agent": "bot", "paused": True, "paused_by": "ana", "paused_at": "2026-11-25T06:34:44.123Z"}
    assert text.pause_state(state) == (
        "bot: paused by ana since 2026-11-25T06:34:44Z; pushes are skipped until it is resumed"
    )
    assert text.pause_state({**state, "paused": False}) == "bot: running; pushes deploy"


def test_control_characters_never_reach_the_terminal():
    text = "a\x1b[31mred\x1b[0m\x1b]8;;https://evil\x07link\x1b]8;;\x07\r\u202etab\there\nnext \x9b1m"
    assert printable(text) == "a[31mred[0m]8;;https://evillink]8;;tab\there\nnext 1m"


def test_the_progress_of_a_deployment_awaiting_approval_says_until_when_and_how_to_approve():
    waiting = {
        **deployment("awaiting_approval", version=None),
        "approval": {"expires_at": "2026-11-26T06:34:44.123Z"},
    }
    line = text.progress(waiting, 3)
    assert line == (
        "bot r.azurecr.io/agents/bot:1.0.0: awaiting_approval "
        "(until 2026-11-26T06:34:44.123Z: agent-deployer approve 0123) after 3s"
    )
