"""``agent-deployer`` commands for an agent's holds and pause: ``holds``, ``unhold``, ``pause``
and ``resume`` (``/api/agents/{agent}/holds``, ``.../release``, ``/pause``, ``/resume``)."""

from __future__ import annotations

import argparse
import json
from urllib.parse import quote

from deployer.cli import resolve, text
from deployer.cli.base import EXIT_OK, Commands, client


def add_commands(commands: Commands) -> None:
    """Register the holds and pause commands."""
    agent_help = "a configured agent's name"
    holds = commands.add(
        "holds", _holds, "list an agent's held digests and whether it is paused", example="holds support-bot"
    )
    holds.add_argument("agent", help=agent_help)
    unhold = commands.add(
        "unhold",
        _unhold,
        "release a held digest, so pushes of it deploy again",
        example="unhold support-bot 4f1c2a9b7e3d",
    )
    unhold.add_argument("agent", help=agent_help)
    unhold.add_argument(
        "digest", help="sha256:..., as 'holds' lists it, or its first 12 or more hex digits (any case)"
    )
    pause = commands.add(
        "pause", _pause, "pause an agent: pushes are skipped until it is resumed", example="pause support-bot"
    )
    pause.add_argument("agent", help=agent_help)
    resume = commands.add(
        "resume", _resume, "resume a paused agent: pushes deploy again", example="resume support-bot"
    )
    resume.add_argument("agent", help=agent_help)


def _agent_path(agent: str) -> str:
    return f"/api/agents/{quote(agent, safe='')}"


def _holds(args: argparse.Namespace) -> int:
    found = client(args).get(_agent_path(args.agent) + "/holds")
    print(json.dumps(found, indent=2) if args.json else text.holds(args.agent, found))
    return EXIT_OK


def _unhold(args: argparse.Namespace) -> int:
    api = client(args)
    digest = resolve.held_digest(api, args.agent, args.digest)
    path = f"{_agent_path(args.agent)}/holds/{quote(digest, safe='')}/release"
    answer = api.send("POST", path).body
    print(json.dumps(answer, indent=2) if args.json else text.released(args.agent, digest, answer))
    return EXIT_OK


def _pause(args: argparse.Namespace) -> int:
    return _pause_or_resume(args, "pause")


def _resume(args: argparse.Namespace) -> int:
    return _pause_or_resume(args, "resume")


def _pause_or_resume(args: argparse.Namespace, action: str) -> int:
    state = client(args).send("POST", f"{_agent_path(args.agent)}/{action}").body
    print(json.dumps(state, indent=2) if args.json else text.pause_state(state))
    return EXIT_OK
