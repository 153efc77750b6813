"""``--help`` for people (no reStructuredText markup, every positional explained, an example
per command) and ``completion SHELL`` scripts for bash, zsh and fish, made without Azure."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

import pytest

from deployer.cli import main as cli
from deployer.cli.completion import SHELLS


def subcommands(parser=None, prefix=()):
    """(name path, parser) of every command that runs something."""
    parser = parser or cli._parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from subcommands(sub, (*prefix, name))
    if prefix and parser.get_default("run") is not None:
        yield prefix, parser


COMMANDS = list(subcommands())


def test_every_command_is_listed():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"deploy", "unhold", "promote-to", "approve", "reject", "config check", "config explain"} <= names
    assert len(names) == 22


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_each_command_has_an_example_and_explains_its_positionals(path, parser):
    shown = parser.format_help()
    assert f"example:\n  agent-deployer {' '.join(path)}" in shown
    assert "``" not in shown and ":class:" not in shown
    for action in parser._actions:
        if not action.option_strings:
            assert action.help, f"{' '.join(path)} {action.dest}"


def test_the_top_level_help_has_no_markup(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    assert "``" not in capsys.readouterr().out


@pytest.mark.parametrize("shell", SHELLS)
def test_a_completion_script_is_generated_for_each_shell(shell, capsys):
    assert cli.main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "agent-deployer" in script
    for command in ("deploy", "unhold", "promote-to", "completion"):
        assert command in script


def test_the_bash_completion_is_valid_bash(capsys):
    cli.main(["completion", "bash"])
    checked = subprocess.run(["bash", "-n"], input=capsys.readouterr().out, text=True, check=False)
    assert checked.returncode == 0


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_zsh_completion_is_valid_zsh(capsys):
    cli.main(["completion", "zsh"])
    checked = subprocess.run(["zsh", "-n"], input=capsys.readouterr().out, text=True, check=False)
    assert checked.returncode == 0


def test_completion_imports_nothing_of_azure():
    probe = (
        "import sys, contextlib, io\n"
        "from deployer.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['completion', 'zsh'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'azure'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_an_unknown_shell_is_a_usage_error():
    with pytest.raises(SystemExit) as exited:
        cli.main(["completion", "powershell"])
    assert exited.value.code == cli.EXIT_ERROR
