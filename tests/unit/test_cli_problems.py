"""With ``--json`` every error is one problem document on stdout, whoever found it, and the exit
code is the documented one; people read a line on stderr either way."""

import json

import pytest

from deployer.cli import main as cli

PREFIX = "urn:agent-deployer:problem:"


def problem_printed(out):
    [line] = out.splitlines()
    document = json.loads(line)
    assert set(document) >= {"type", "title", "status", "detail"}
    return document


def test_a_usage_error_with_json_is_a_usage_problem_and_exits_4(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["deploy", "bot", "--json"])
    assert exited.value.code == cli.EXIT_ERROR
    printed = capsys.readouterr()
    document = problem_printed(printed.out)
    assert document["type"] == PREFIX + "usage" and document["status"] is None
    assert "the following arguments are required: image" in document["detail"]
    assert "usage: agent-deployer deploy" in printed.err


def test_a_usage_error_without_json_prints_nothing_on_stdout(capsys):
    with pytest.raises(SystemExit):
        cli.main(["deploy", "bot"])
    printed = capsys.readouterr()
    assert printed.out == "" and "error: the following arguments are required" in printed.err


def test_an_unreachable_deployer_with_json_is_an_unreachable_problem(capsys):
    assert cli.main(["--url", "http://127.0.0.1:9", "agents", "--json"]) == cli.EXIT_ERROR
    printed = capsys.readouterr()
    assert problem_printed(printed.out)["type"] == PREFIX + "unreachable"
    assert "cannot reach http://127.0.0.1:9" in printed.err


def test_config_check_with_json_lists_each_problem_with_line_and_column(tmp_path, capsys):
    path = tmp_path / "deployer.yaml"
    path.write_text("registries: [a.azurecr.io]\nagents:\n  - name: bot\n    repositry: agents/bot\n")
    assert cli.main(["config", "check", str(path), "--json"]) == cli.EXIT_FAILED
    document = problem_printed(capsys.readouterr().out)
    assert document["type"] == PREFIX + "invalid-config"
    first = document["errors"][0]
    assert (first["field"], first["line"], first["column"]) == ("agents[0].repositry", 4, 5)
    assert first["message"] == "unknown field (did you mean 'repository'?)"


def test_config_check_with_json_prints_the_counts_of_a_valid_file(tmp_path, capsys):
    path = tmp_path / "deployer.yaml"
    path.write_text(
        "registries: [a.azurecr.io]\n"
        "agents:\n  - {name: bot, repository: agents/bot, grant_runtime_role: false}\n"
    )
    assert cli.main(["config", "check", str(path), "--json"]) == cli.EXIT_OK
    assert json.loads(capsys.readouterr().out) == {
        "file": str(path),
        "ok": True,
        "agents": 1,
        "registries": 1,
    }
