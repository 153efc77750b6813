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
from importlib import metadata
from typing import Any
from urllib.parse import quote

from deployer.cli import agents as cli_agents
from deployer.cli import (
    approvals,
    canary,
    completion,
    config_commands,
    notification_commands,
    problems,
    resolve,
    text,
)
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
    follow_options,
)
from deployer.cli.base import client as _client
from deployer.cli.client import ApiError, Client
from deployer.cli.follow import report

__all__ = [
    "DEFAULT_URL",
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_TIMED_OUT",
    "exit_code",
]
#: What a shell reports for a command whose reader went away (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141
_DESCRIPTION = """Deploy, roll back, inspect, hold and pause agents, and redeliver notifications
through a running deployer's HTTP API; 'config check' works offline."""
_EPILOG = """exit codes: 0 active or verified (or done), 1 failed or unhealthy (the smoke test
failed), 2 timed out, 3 refused (the deployer said no, or the deployment was skipped), 4 the
deployer could not be reached or the command was misused.
--url and --key default to DEPLOYER_URL and DEPLOYER_KEY (the function key)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (a usage error exits 4, ``--help`` 0)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = _parser().parse_args(argv)
    except problems.UsageError as exc:
        document = problems.problem("usage", str(exc))
        problems.report(document, [exc.usage.rstrip(), str(exc)], as_json="--json" in argv)
        raise SystemExit(EXIT_ERROR) from None
    try:
        code = _run(args)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped early (`| head`): not worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


def _run(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    try:
        return int(args.run(args))
    except ApiError as exc:
        slug = "unreachable" if exc.status is None else "deployer-failed"
        document = exc.problem or problems.problem(slug, str(exc), status=exc.status)
        items = (exc.problem or {}).get("errors") or []
        lines = [f"error: {exc}", *(f"  {i.get('field')}: {i.get('message')}" for i in items)]
        problems.report(document, lines, as_json=as_json)
        return EXIT_REFUSED if exc.refused else EXIT_ERROR
    except resolve.CommandError as exc:
        slug = "refused" if exc.code == EXIT_REFUSED else "usage"
        problems.report(problems.problem(slug, str(exc)), [f"error: {exc}"], as_json=as_json)
        return exc.code
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    # --url/--key on every parser, defaults suppressed, so they work before and after the command.
    common = Parser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS, help="the deployer (DEPLOYER_URL)")
    common.add_argument("--key", default=argparse.SUPPRESS, help="function key (DEPLOYER_KEY)")
    parser = Parser(prog="agent-deployer", description=_DESCRIPTION, epilog=_EPILOG, parents=[common])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = Commands(parser.add_subparsers(required=True, metavar="COMMAND"), common)
    _add_write_commands(commands)
    _add_read_commands(commands)
    cli_agents.add_commands(commands)
    canary.add_commands(commands)
    approvals.add_commands(commands)
    notification_commands.add_commands(commands)
    config_commands.add_commands(commands, common)
    push = commands.add(
        "simulate-push",
        _simulate_push,
        "push an image to the local registry stand-in, then post its ACR ImagePushed event",
        example="simulate-push myregistry.azurecr.io/agents/support-bot:1.2.0",
        json=False,
    )
    push.add_argument("image", help="registry/repository:tag (or @sha256:...) that was pushed")
    push.add_argument("--schema", choices=["eventgrid", "cloudevents"], default="eventgrid")
    push.add_argument(
        "--eventgrid-key",
        help="the host's eventgrid_extension system key for the webhook (default: --key); "
        "--key still reads what the deployer decided",
    )
    push.add_argument(
        "--registry-endpoint",
        help="the registry stand-in's origin (DEPLOYER_REGISTRY_ENDPOINT; .local/stack.json's "
        "registry_endpoint), trusted through SSL_CERT_FILE (the local CA bundle); without it only "
        "the event is posted",
    )
    completion.add_command(commands, _parser)
    return parser


def _version() -> str:
    try:
        return metadata.version("agent-deployer")
    except metadata.PackageNotFoundError:  # run from a checkout (python -m deployer) without installing
        return "(not installed)"


def _add_write_commands(commands: Commands) -> None:
    deploy = commands.add(
        "deploy",
        _deploy,
        "deploy an image to a configured agent",
        example="deploy support-bot myregistry.azurecr.io/agents/support-bot:1.2.0 --wait --timeout 900",
    )
    deploy.add_argument("agent", help="a configured agent's name")
    deploy.add_argument(
        "image",
        help="registry/repository:tag, registry/repository@sha256:..., or short: :TAG, repository:tag",
    )
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
        "rollback",
        _rollback,
        "go back to the agent's previous version (by traffic when it still runs)",
        example="rollback support-bot --wait",
    )
    rollback.add_argument("agent", help="a configured agent's name")
    rollback.add_argument("--to", help="a deployment id or version (default: the previous active)")
    _waiting(rollback)


def _add_read_commands(commands: Commands) -> None:
    status = commands.add(
        "status", _status, "show one deployment and its history", example="status 8204021..."
    )
    status.add_argument("id", help="a deployment id, as deploy and list print it, or an agent (its latest)")
    listing = commands.add(
        "list", _list, "list deployments, newest first", example="list --agent support-bot --limit 5"
    )
    listing.add_argument("--agent")
    listing.add_argument("--status")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--next", help="the page token a previous list printed")
    commands.add(
        "agents", _agents, "the configured agents and their active deployments", example="agents --json"
    )
    commands.add(
        "health", _health, "whether the deployer reaches Table Storage and Foundry", example="health"
    )


def _waiting(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--reason", help="why (recorded on the deployment)")
    follow_options(sub)
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
    return report(args, client, client.send("POST", path, body, headers).body)


def _status(args: argparse.Namespace) -> int:
    api = _client(args)
    deployment = api.get(f"/api/deployments/{quote(resolve.deployment_id(api, args.id), safe='')}")
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
    api = _client(args)
    found = api.get("/api/agents")
    if args.json:
        print(json.dumps(found, indent=2))
        return EXIT_OK
    held = {
        a["name"]: [h["digest"] for h in api.get(f"/api/agents/{quote(a['name'], safe='')}/holds")["items"]]
        for a in found["items"]
    }
    print(text.agents(found["items"], held))
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


def _simulate_push(args: argparse.Namespace) -> int:
    from deployer.cli import simulate

    api = _client(args)
    webhook = Client(api.url, args.eventgrid_key) if args.eventgrid_key else api
    registry = args.registry_endpoint or os.environ.get("DEPLOYER_REGISTRY_ENDPOINT")
    event_id, record = simulate.push(
        api, args.image, args.schema, webhook=webhook, registry_endpoint=registry
    )
    where = f" to {registry}" if registry else " (event only)"
    if record is None:
        print(f"pushed {args.image}{where} (event {event_id}); the deployer has not recorded it yet")
        return EXIT_OK
    print(f"pushed {args.image}{where} (event {event_id}): {text.outcome(record)}")
    return exit_code(record)


def _pair(item: str) -> tuple[str, str]:
    name, equals, value = item.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{item!r}: expected NAME=VALUE")
    return name, value


if __name__ == "__main__":
    sys.exit(main())
