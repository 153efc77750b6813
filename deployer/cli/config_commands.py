"""``agent-deployer config check FILE`` and ``config schema``: the configuration, offline (no
deployer needed)."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import Any

from deployer.cli import explain, problems
from deployer.cli.base import EXIT_FAILED, EXIT_OK, Commands


def add_commands(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Register ``config check``, ``config explain`` and ``config schema``."""
    config = commands.group.add_parser("config", help="configuration commands")
    group = config.add_subparsers(required=True, metavar="COMMAND")
    check = _add(group, "check", "validate a config file offline", "deployer.yaml", parents=[common])
    check.add_argument("file", help="the deployer.yaml to check")
    check.add_argument("--json", action="store_true", help="the result, or the problems, as JSON")
    check.set_defaults(run=_config_check)
    image = "myregistry.azurecr.io/agents/support-bot:1.2.0"
    what = "what the deployer would decide for a push of IMAGE, agent by agent (offline)"
    explain.add_arguments(_add(group, "explain", what, image, parents=[common]))
    what = "print the JSON Schema of deployer.yaml (for an editor's completion and checks)"
    _add(group, "schema", what, "> deployer.schema.json").set_defaults(run=_config_schema)


def _add(
    group: Any, name: str, description: str, example: str, parents: Sequence[argparse.ArgumentParser] = ()
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = group.add_parser(
        name,
        help=description.split(" (", maxsplit=1)[0],
        description=description,
        epilog=f"example:\n  agent-deployer config {name} {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=list(parents),
    )
    return parser


def _config_check(args: argparse.Namespace) -> int:
    from deployer.config.parser import ConfigError, load_config

    try:
        config = load_config(args.file, os.environ)
    except ConfigError as exc:
        detail = f"{args.file}: {len(exc.problems)} problem(s)"
        document = problems.problem("invalid-config", detail, errors=exc.errors)
        problems.report(document, str(exc).splitlines(), as_json=args.json)
        return EXIT_FAILED
    counts = {"agents": len(config.agents), "registries": len(config.registries)}
    if args.json:
        print(json.dumps({"file": args.file, "ok": True, **counts}))
    else:
        print(f"{args.file}: ok ({counts['agents']} agents, {counts['registries']} registries)")
    return EXIT_OK


def _config_schema(args: argparse.Namespace) -> int:
    from deployer.config.parser import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK
