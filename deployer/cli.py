"""``agent-deployer``: the command line for a running deployer (or, for ``config check``, offline)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from deployer.config import ConfigError, load_config

EXIT_CODES = {"active": 0, "failed": 1, "timed_out": 2}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agent-deployer", description=__doc__)
    parser.add_argument("--url", default=os.environ.get("DEPLOYER_URL", "http://127.0.0.1:7071"))
    parser.add_argument(
        "--key", default=os.environ.get("DEPLOYER_KEY"), help="function key (x-functions-key)"
    )
    commands = parser.add_subparsers(required=True)
    check = commands.add_parser("config", help="configuration commands").add_subparsers(required=True)
    checker = check.add_parser("check", help="validate a config file offline")
    checker.add_argument("file")
    checker.set_defaults(run=_config_check)
    push = commands.add_parser("simulate-push", help="post a realistic ACR ImagePushed event")
    push.add_argument("image")
    push.add_argument("--schema", choices=["eventgrid", "cloudevents"], default="eventgrid")
    push.set_defaults(run=_simulate_push)
    status = commands.add_parser("status", help="show one deployment")
    status.add_argument("id")
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=_status)
    listing = commands.add_parser("list", help="list deployments, newest first")
    listing.add_argument("--agent")
    listing.add_argument("--status")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_list)
    return parser


def _config_check(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file, os.environ)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{args.file}: ok ({len(config.agents)} agents, {len(config.registries)} registries)")
    return 0


def _simulate_push(args: argparse.Namespace) -> int:
    from deployer.simulate import image_pushed_event

    event = image_pushed_event(args.image, schema=args.schema)
    cloud = args.schema == "cloudevents"
    body = event if cloud else [event]
    headers = {
        "aeg-event-type": "Notification",
        "Content-Type": "application/cloudevents+json" if cloud else "application/json",
    }
    call(args, "POST", "/runtime/webhooks/eventgrid?functionName=on_image_pushed", body, headers)
    print(f"pushed {args.image} (event {event['id']})")
    return 0


def _status(args: argparse.Namespace) -> int:
    deployment = call(args, "GET", f"/api/deployments/{args.id}")
    print(json.dumps(deployment, indent=2) if args.json else _line(deployment))
    return 0


def _list(args: argparse.Namespace) -> int:
    query = "&".join(f"{k}={v}" for k, v in (("agent", args.agent), ("status", args.status)) if v)
    page = call(args, "GET", f"/api/deployments?{query}")
    if args.json:
        print(json.dumps(page, indent=2))
    else:
        for deployment in page["items"]:
            print(_line(deployment))
    return 0


def _line(d: dict[str, Any]) -> str:
    return f"{d['id']}  {d['agent'] or '-':<24} {d['status']:<11} v{d['version'] or '-':<4} {d['image']}"


class ApiError(Exception):
    """The deployer answered with an error, or could not be reached."""


def call(
    args: argparse.Namespace, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> Any:
    """One JSON request to the deployer; raise :class:`ApiError` with its problem detail on failure."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(args.url.rstrip("/") + path, data=data, method=method)  # noqa: S310
    for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
        request.add_header(name, value)
    if args.key:
        request.add_header("x-functions-key", args.key)
    for attempt in range(3):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                raw = response.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise ApiError(f"{method} {path}: {exc.code} {detail}") from None
        except urllib.error.URLError as exc:
            if attempt == 2:
                raise ApiError(f"cannot reach {args.url}: {exc.reason}") from None
            time.sleep(0.5)
    return None


if __name__ == "__main__":
    sys.exit(main())
