"""``agent-deployer`` commands for the notification outbox: list ``notifications`` (webhooks and
Event Grid, ``/api/notifications``) and ``redeliver`` a dead one
(``/api/notifications/{id}/redeliver``)."""

from __future__ import annotations

import argparse
import json
import sys
from urllib.parse import quote

from deployer.cli import text
from deployer.cli.base import EXIT_OK, Commands, client


def add_commands(commands: Commands) -> None:
    """Register ``notifications`` and ``redeliver``."""
    listing = commands.add(
        "notifications",
        _notifications,
        "list webhook and Event Grid notifications",
        example="notifications --state dead",
    )
    listing.add_argument("--state", choices=["pending", "delivered", "dead"])
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--next", help="the page token a previous list printed")
    redeliver = commands.add(
        "redeliver", _redeliver, "send a dead notification again", example="redeliver 8204021....creating.w0"
    )
    redeliver.add_argument("id", help="a notification id, as 'notifications --state dead' lists it")


def _notifications(args: argparse.Namespace) -> int:
    page = client(args).get("/api/notifications", state=args.state, limit=args.limit, next=args.next)
    print(json.dumps(page, indent=2) if args.json else text.notifications(page["items"]))
    if page["next"] and not args.json:
        print(f"more: add --next {page['next']}", file=sys.stderr)
    return EXIT_OK


def _redeliver(args: argparse.Namespace) -> int:
    path = f"/api/notifications/{quote(args.id, safe='')}/redeliver"
    entry = client(args).send("POST", path).body
    print(json.dumps(entry, indent=2) if args.json else text.redelivered(entry))
    return EXIT_OK
