"""``agent-deployer``: deploy, roll back, inspect, hold and pause agents, and redeliver
notifications through a running deployer's HTTP API; ``config check`` works offline. Only the
standard library, so it runs in any pipeline."""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from deployer.cli import agents as cli_agents
from deployer.cli import canary, text
from deployer.cli.base import (
    DEFAULT_URL,
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_TIMED_OUT,
    Commands,
    Parser,
    exit_code,
)
from deployer.cli.base import client as _client
from deployer.cli.base import follow as _follow
from deployer.cli.client import ApiError
from deployer.cli.terminal import printable_output

__all__ = [
    "DEFAULT_URL",
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_TIMED_OUT",
    "exit_code",
]
_EPILOG = """exit codes: 0 active or verified (or done), 1 failed or unhealthy (the smoke test
failed), 2 timed out, 3 refused (the deployer said no, or the deployment was skipped), 4 the
deployer could not be reached or the command was misused.
--url and --key default to DEPLOYER_URL and DEPLOYER_KEY (the function key)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = _parser().parse_args(argv)
    with printable_output():  # the deployer's answers carry text others wrote
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args))
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        for item in (exc.problem or {}).get("errors") or []:
            print(f"  {item.get('field')}: {item.get('message')}", file=sys.stderr)
        return EXIT_REFUSED if exc.refused else EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    # --url/--key on every parser, defaults suppressed, so they work before and after the command.
    common = Parser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS, help="the deployer (DEPLOYER_URL)")
    common.add_argument("--key", default=argparse.SUPPRESS, help="function key (DEPLOYER_KEY)")
    parser = Parser(prog="agent-deployer", description=__doc__, epilog=_EPILOG, parents=[common])
    commands = Commands(parser.add_subparsers(required=True, metavar="COMMAND"), common)
    _add_write_commands(commands)
    _add_read_commands(commands)
    cli_agents.add_commands(commands)
    canary.add_commands(commands)
    _add_notification_commands(commands)
    config = commands.group.add_parser("config", help="configuration commands")
    config_commands = config.add_subparsers(required=True, metavar="COMMAND")
    check = config_commands.add_parser("check", help="validate a config file offline", parents=[common])
    check.add_argument("file")
    check.set_defaults(run=_config_check)
    schema = config_commands.add_parser("schema", help="print the JSON Schema of deployer.yaml")
    schema.set_defaults(run=_config_schema)
    push = commands.add(
        "simulate-push",
        _simulate_push,
        "push an image to the local registry stand-in, then post its ACR ImagePushed event",
        json=False,
    )
    push.add_argument("image")
    push.add_argument("--schema", choices=["eventgrid", "cloudevents"], default="eventgrid")
    push.add_argument(
        "--registry-endpoint",
        default=os.environ.get("DEPLOYER_REGISTRY_ENDPOINT"),
        help="the registry stand-in's origin (DEPLOYER_REGISTRY_ENDPOINT; .local/stack.json's "
        "registry_endpoint), trusted through SSL_CERT_FILE (the local CA bundle); without it only "
        "the event is posted",
    )
    return parser


def _add_write_commands(commands: Commands) -> None:
    deploy = commands.add("deploy", _deploy, "deploy an image to a configured agent")
    deploy.add_argument("agent")
    deploy.add_argument("image", help="registry/repository:tag or registry/repository@sha256:...")
    deploy.add_argument(
        "--env",
        action="append",
        type=_pair,
        default=[],
        metavar="NAME=VALUE",
        help="override a configured one",
    )
    _waiting(deploy)
    rollback = commands.add(
        "rollback", _rollback, "go back to the agent's previous version (by traffic when it still runs)"
    )
    rollback.add_argument("agent")
    rollback.add_argument("--to", help="a deployment id or version (default: the previous active)")
    _waiting(rollback)


def _add_read_commands(commands: Commands) -> None:
    commands.add("status", _status, "show one deployment and its history").add_argument("id")
    listing = commands.add("list", _list, "list deployments, newest first")
    listing.add_argument("--agent")
    listing.add_argument("--status")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--next", help="the page token a previous list printed")
    commands.add("agents", _agents, "the configured agents and their active deployments")
    commands.add("health", _health, "whether the deployer reaches Table Storage and Foundry")


def _add_notification_commands(commands: Commands) -> None:
    listing = commands.add("notifications", _notifications, "list webhook and Event Grid notifications")
    listing.add_argument("--state", choices=["pending", "delivered", "dead"])
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--next", help="the page token a previous list printed")
    redeliver = commands.add("redeliver", _redeliver, "send a dead notification again")
    redeliver.add_argument("id", help="a notification id, as 'notifications --state dead' lists it")


def _waiting(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--reason", help="why (recorded on the deployment)")
    sub.add_argument("--wait", action="store_true", help="follow the deployment to its end state")
    sub.add_argument("--timeout", type=float, help="with --wait: give up after S seconds (exit 2)")
    sub.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    sub.add_argument("--idempotency-key", help="default: a new key for each run")


def _deploy(args: argparse.Namespace) -> int:
    env = dict(args.env)
    body = {"agent": args.agent, "image": args.image, "environment_variables": env, "reason": args.reason}
    return _start(args, "/api/deployments", {k: v for k, v in body.items() if v})


def _rollback(args: argparse.Namespace) -> int:
    body = {k: v for k, v in (("to", args.to), ("reason", args.reason)) if v}
    return _start(args, f"/api/agents/{quote(args.agent, safe='')}/rollback", body)


def _start(args: argparse.Namespace, path: str, body: dict[str, Any]) -> int:
    client = _client(args)
    # One key per run: the client's own retries can then never start a second deployment.
    headers = {"Idempotency-Key": args.idempotency_key or str(uuid.uuid4())}
    deployment = client.send("POST", path, body, headers).body
    timed_out = False
    if args.wait:
        deployment, timed_out = _follow(client, deployment, args.timeout, args.interval, sys.stderr)
    print(json.dumps(deployment, indent=2) if args.json else text.outcome(deployment))
    for line in text.error_lines(deployment):
        print(line, file=sys.stderr)
    return EXIT_TIMED_OUT if timed_out else exit_code(deployment)


def _status(args: argparse.Namespace) -> int:
    deployment = _client(args).get(f"/api/deployments/{quote(args.id, safe='')}")
    print(json.dumps(deployment, indent=2) if args.json else text.deployment(deployment))
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    page = _client(args).get(
        "/api/deployments", agent=args.agent, status=args.status, limit=args.limit, next=args.next
    )
    print(json.dumps(page, indent=2) if args.json else text.deployments(page["items"]))
    if page["next"] and not args.json:
        print(f"more: add --next {page['next']}", file=sys.stderr)
    return EXIT_OK


def _agents(args: argparse.Namespace) -> int:
    found = _client(args).get("/api/agents")
    print(json.dumps(found, indent=2) if args.json else text.agents(found["items"]))
    return EXIT_OK


def _health(args: argparse.Namespace) -> int:
    try:
        report = _client(args).send("GET", "/api/health", retry=False).body
    except ApiError as exc:
        if exc.status != 503 or exc.problem is None:
            raise
        report = exc.problem  # 503 carries the health document: show which check failed
    print(json.dumps(report, indent=2) if args.json else text.health(report))
    # degraded: a notification subscriber is refused, the deployer itself is available
    return EXIT_OK if report["status"] in ("ok", "degraded") else EXIT_FAILED


def _notifications(args: argparse.Namespace) -> int:
    page = _client(args).get("/api/notifications", state=args.state, limit=args.limit, next=args.next)
    print(json.dumps(page, indent=2) if args.json else text.notifications(page["items"]))
    if page["next"] and not args.json:
        print(f"more: add --next {page['next']}", file=sys.stderr)
    return EXIT_OK


def _redeliver(args: argparse.Namespace) -> int:
    path = f"/api/notifications/{quote(args.id, safe='')}/redeliver"
    entry = _client(args).send("POST", path).body
    print(json.dumps(entry, indent=2) if args.json else text.redelivered(entry))
    return EXIT_OK


def _config_check(args: argparse.Namespace) -> int:
    from deployer.config.parser import ConfigError, load_config

    try:
        config = load_config(args.file, os.environ)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.file}: ok ({len(config.agents)} agents, {len(config.registries)} registries)")
    return EXIT_OK


def _config_schema(args: argparse.Namespace) -> int:
    from deployer.config.parser import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def _simulate_push(args: argparse.Namespace) -> int:
    from deployer.cli.simulate import image_pushed_event, push_to_stand_in

    digest = None
    if args.registry_endpoint:
        try:
            digest = push_to_stand_in(args.registry_endpoint, args.image)
        except (OSError, ValueError) as exc:
            raise ApiError(f"cannot push {args.image} to {args.registry_endpoint}: {exc}") from None
    event = image_pushed_event(args.image, schema=args.schema, digest=digest)
    cloud = args.schema == "cloudevents"
    headers = {
        "aeg-event-type": "Notification",
        "Content-Type": "application/cloudevents+json" if cloud else "application/json",
    }
    path = "/runtime/webhooks/eventgrid?functionName=on_image_pushed"
    _client(args).send("POST", path, event if cloud else [event], headers)
    where = f" to {args.registry_endpoint}" if args.registry_endpoint else " (event only)"
    print(f"pushed {args.image}{where} (event {event['id']})")
    return EXIT_OK


def _pair(item: str) -> tuple[str, str]:
    name, equals, value = item.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{item!r}: expected NAME=VALUE")
    return name, value


if __name__ == "__main__":
    sys.exit(main())
