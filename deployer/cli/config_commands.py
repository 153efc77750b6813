"""``agent-deployer config check FILE`` and ``config schema``: the configuration, offline (no
deployer needed)."""

from __future__ import annotations

import argparse
import json
import os

from deployer.cli import problems
from deployer.cli.base import EXIT_FAILED, EXIT_OK, Commands


def add_commands(commands: Commands, common: argparse.ArgumentParser) -> None:
    """Register ``config check`` and ``config schema``."""
    config = commands.group.add_parser("config", help="configuration commands")
    config_commands = config.add_subparsers(required=True, metavar="COMMAND")
    check = config_commands.add_parser(
        "check",
        help="validate a config file offline",
        description="validate a config file offline",
        epilog="example:\n  agent-deployer config check deployer.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    check.add_argument("file", help="the deployer.yaml to check")
    check.add_argument("--json", action="store_true", help="the result, or the problems, as JSON")
    check.set_defaults(run=_config_check)
    schema = config_commands.add_parser(
        "schema",
        help="print the JSON Schema of deployer.yaml",
        description="print the JSON Schema of deployer.yaml (for an editor's completion and checks)",
        epilog="example:\n  agent-deployer config schema > deployer.schema.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    schema.set_defaults(run=_config_schema)


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
