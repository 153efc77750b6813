"""Colour and in-place lines only where the terminal takes them (NO_COLOR, TERM=dumb, pipes),
and ``--json`` errors a pipeline can read."""

from __future__ import annotations

import io
import json

import pytest

from deployer.cli import main as cli
from deployer.cli import style
from deployer.cli.follow import follow
from tests.unit.builders import deployment
from tests.unit.cli_fakes import FakeTime, ScriptedClient, Terminal


@pytest.fixture
def xterm(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_a_terminal_gets_colour_and_a_pipe_does_not(xterm):
    assert style.coloured(Terminal()) and style.rewritable(Terminal())
    assert not style.coloured(io.StringIO()) and not style.rewritable(io.StringIO())


def test_no_color_turns_colour_off_but_keeps_the_live_line(xterm, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert not style.coloured(Terminal()) and style.rewritable(Terminal())


def test_a_dumb_terminal_gets_neither(xterm, monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    assert not style.coloured(Terminal()) and not style.rewritable(Terminal())
    time, out = FakeTime(), Terminal()
    follow(
        ScriptedClient(deployment("active")),
        deployment("creating"),
        None,
        1,
        out,
        clock=time.clock,
        sleep=time.sleep,
    )
    assert "\x1b" not in out.getvalue() and len(out.getvalue().splitlines()) == 2


@pytest.mark.parametrize(
    ("status", "colour"),
    [
        ("active", "\x1b[32m"),
        ("verified", "\x1b[32m"),
        ("creating", "\x1b[33m"),
        ("canary", "\x1b[33m"),
        ("failed", "\x1b[31m"),
        ("timed_out", "\x1b[31m"),
        ("unhealthy", "\x1b[31m"),
    ],
)
def test_the_status_is_coloured_by_what_it_means(status, colour):
    line = f"bot: {status} (version 3)"
    assert style.status(line, status, True) == f"bot: {colour}{status}\x1b[0m (version 3)"
    assert style.status(line, status, False) == line


def test_with_json_an_error_is_a_problem_document_on_stdout(capsys):
    assert cli.main(["--url", "http://127.0.0.1:9", "agents", "--json"]) == cli.EXIT_ERROR
    out, err = capsys.readouterr()
    problem = json.loads(out)
    assert problem["title"] == "The deployer could not be reached" and problem["status"] is None
    assert "cannot reach http://127.0.0.1:9" in problem["detail"] and "cannot reach" in err
