"""``agent-deployer`` commands for canaries and promotion: ``promote`` and ``abort`` a canary
(``/api/deployments/{id}/promote``, ``/abort``) and ``promote-to`` another agent
(``/api/agents/{agent}/promote``)."""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import quote

from deployer.cli import resolve, text
from deployer.cli.base import EXIT_OK, EXIT_REFUSED, Commands, client, follow_options
from deployer.cli.client import ApiError, Client
from deployer.cli.follow import report
from deployer.domain.model import SERVING_STATUSES


def add_commands(commands: Commands) -> None:
    """Register ``promote``, ``abort`` and ``promote-to``."""
    promote = commands.add(
        "promote", _promote, "promote a canary now: all traffic to its version", example="promote support-bot"
    )
    promote.add_argument(
        "deployment", help="the id of a deployment in a canary, or an agent (its running canary)"
    )
    abort = commands.add(
        "abort", _abort, "abort a canary: all traffic back to the stable version", example="abort 8204021..."
    )
    abort.add_argument(
        "deployment", help="the id of a deployment in a canary, or an agent (its running canary)"
    )
    to = commands.add(
        "promote-to",
        _promote_to,
        "deploy an agent's verified image to another agent",
        example="promote-to support-bot --to support-bot-prod --wait",
    )
    to.add_argument("agent", help="the agent whose verified deployment is promoted")
    to.add_argument("--to", required=True, metavar="TARGET", help="the agent to deploy it to")
    follow_options(to)


def _promote(args: argparse.Namespace) -> int:
    return _canary_action(args, "promote")


def _abort(args: argparse.Namespace) -> int:
    return _canary_action(args, "abort")


def _canary_action(args: argparse.Namespace, action: str) -> int:
    api = client(args)
    target = _canary_of(api, args.deployment, action)
    try:
        deployment = api.send("POST", f"/api/deployments/{quote(target, safe='')}/{action}").body
    except ApiError as exc:
        if action != "promote" or exc.status != 409:
            raise
        deployment = api.get(f"/api/deployments/{quote(target, safe='')}")
        if deployment["status"] not in SERVING_STATUSES or not deployment.get("canary"):
            raise
        if not args.json:  # promoting twice is fine: the canary is done
            print(f"{text.outcome(deployment)}: its canary already finished; nothing to do")
            return EXIT_OK
    _show(args, deployment)
    return EXIT_OK


def _canary_of(api: Client, name: str, action: str) -> str:
    """The deployment id ``name`` stands for: an agent's running canary (for ``promote``, else
    its latest canary, which a repeated promote finds finished), or ``name`` itself."""
    if not resolve.is_agent(api, name):
        return name
    running = resolve.latest(api, name, status="canary")
    if running is not None:
        return str(running["id"])
    last = resolve.latest(api, name)
    if action == "promote" and last is not None and last.get("canary"):
        return str(last["id"])
    raise resolve.CommandError(f"{name}: no canary is running", EXIT_REFUSED)


def _promote_to(args: argparse.Namespace) -> int:
    api = client(args)
    path = f"/api/agents/{quote(args.agent, safe='')}/promote"
    return report(args, api, api.send("POST", path, {"to": args.to}).body)


def _show(args: argparse.Namespace, deployment: dict[str, Any]) -> None:
    print(json.dumps(deployment, indent=2) if args.json else text.outcome(deployment))
