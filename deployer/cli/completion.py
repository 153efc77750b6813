"""``agent-deployer completion SHELL``: a completion script for bash, zsh or fish, written by
shtab from the argument parser itself (so it never falls behind the commands)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from deployer.cli.base import EXIT_OK, Commands

SHELLS = ("bash", "zsh", "fish")


def add_command(commands: Commands, parser: Callable[[], argparse.ArgumentParser]) -> None:
    """Register ``completion``; ``parser`` builds the whole command line's parser."""

    def run(args: argparse.Namespace) -> int:
        import shtab  # only this command needs it

        print(shtab.complete(parser(), shell=args.shell))
        return EXIT_OK

    sub = commands.add(
        "completion",
        run,
        "print a shell completion script",
        example="completion bash > ~/.local/share/bash-completion/completions/agent-deployer",
        json=False,
    )
    sub.add_argument("shell", choices=SHELLS, help="the shell to complete in: " + ", ".join(SHELLS))
