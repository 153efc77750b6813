"""``agent-deployer approve`` and ``reject``: decide a deployment awaiting approval
(``/api/deployments/{id}/approve``, ``/reject``), by its id or by its agent's name."""

from __future__ import annotations

import argparse
from urllib.parse import quote

from deployer.cli import resolve
from deployer.cli.base import EXIT_REFUSED, Commands, client, follow_options
from deployer.cli.client import Client
from deployer.cli.follow import report

_WHICH = "the id of a deployment awaiting approval, or an agent (its deployment waiting)"


def add_commands(commands: Commands) -> None:
    """Register ``approve`` and ``reject``."""
    approve = commands.add(
        "approve",
        _approve,
        "approve a deployment awaiting approval (or its canary's step): it goes ahead",
        example="approve support-bot-prod --wait",
    )
    approve.add_argument("deployment", help=_WHICH)
    follow_options(approve)
    reject = commands.add(
        "reject",
        _reject,
        "reject a deployment awaiting approval: it ends rejected",
        example='reject 8204021... --reason "error budget spent"',
    )
    reject.add_argument("deployment", help=_WHICH)
    reject.add_argument("--reason", required=True, help="why (recorded in its history and notified)")
    reject.set_defaults(wait=False)


def _approve(args: argparse.Namespace) -> int:
    return _decide(args, "approve", None)


def _reject(args: argparse.Namespace) -> int:
    return _decide(args, "reject", {"reason": args.reason})


def _decide(args: argparse.Namespace, decision: str, body: dict[str, str] | None) -> int:
    api = client(args)
    path = f"/api/deployments/{quote(_waiting_of(api, args.deployment), safe='')}/{decision}"
    return report(args, api, api.send("POST", path, body).body)


def _waiting_of(api: Client, name: str) -> str:
    """The deployment id ``name`` stands for: an agent's deployment awaiting approval, or else
    its canary (which may wait at a step), or ``name`` itself."""
    if not resolve.is_agent(api, name):
        return name
    for status in ("awaiting_approval", "canary"):
        found = resolve.latest(api, name, status=status)
        if found is not None:
            return str(found["id"])
    raise resolve.CommandError(f"{name}: no deployment awaits approval", EXIT_REFUSED)
