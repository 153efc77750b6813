"""``agent-deployer config explain IMAGE``: what the deployer would decide for a push of IMAGE,
agent by agent, read offline from the config file with the decisions the Event Grid trigger
makes (``deployer.domain.rules``). What depends on the deployer's state (a pause, a held digest,
a higher version already started) is named, not guessed."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from deployer.cli import problems
from deployer.cli.base import EXIT_ERROR, EXIT_FAILED, EXIT_OK, EXIT_REFUSED
from deployer.domain import rules
from deployer.domain.agents import AgentConfig, DeployerConfig
from deployer.domain.imageref import ImageRef, ImageRefError
from deployer.domain.model import ImagePush

#: What the trigger still checks against the agent's row when the push arrives.
STATE_CHECKS = (
    "unless, when it arrives, the agent is paused, the digest is held or already active,"
    " or (semver tags) a higher tag has started"
)


def add_arguments(explain: argparse.ArgumentParser) -> None:
    explain.add_argument("image", help="registry/repository:tag that would be pushed")
    explain.add_argument("--file", default="deployer.yaml", help="the config (default: deployer.yaml)")
    explain.add_argument("--json", action="store_true", help="the decisions as JSON")
    explain.set_defaults(run=_explain)


def _explain(args: argparse.Namespace) -> int:
    from deployer.config.parser import ConfigError, load_config

    try:
        ref = ImageRef.parse(args.image)
        config = load_config(args.file, os.environ)
    except ImageRefError as exc:
        problems.report(problems.problem("usage", str(exc)), [f"error: {exc}"], as_json=args.json)
        return EXIT_ERROR
    except ConfigError as exc:
        document = problems.problem("invalid-config", f"{args.file} is not valid", errors=exc.errors)
        problems.report(document, str(exc).splitlines(), as_json=args.json)
        return EXIT_FAILED
    push = ImagePush(registry=ref.registry.lower(), repository=ref.repository, tag=ref.tag, digest=ref.digest)
    decisions = explain(push, config)
    if args.json:
        print(json.dumps({"image": args.image, "agents": decisions}, indent=2))
    else:
        print(_text(args.image, decisions))
    return EXIT_OK if any(d["decision"] == "deploy" for d in decisions) else EXIT_REFUSED


def explain(push: ImagePush, config: DeployerConfig) -> list[dict[str, Any]]:
    """For each configured agent: ``deploy``, or ``skip`` with the reason the trigger records."""
    routed = rules.route(push, config)
    return [_decision(push, agent, routed) for agent in config.agents]


def _decision(push: ImagePush, agent: AgentConfig, routed: rules.Route) -> dict[str, Any]:
    tags = agent.tags.pattern if agent.tags.kind == "glob" else f"{agent.tags.kind}:{agent.tags.pattern}"
    rule = {"agent": agent.name, "registry": agent.registry, "repository": agent.repository, "tags": tags}
    if agent not in routed.agents:
        matches = agent.matches_repository(push.registry, push.repository)
        reason = routed.reason if matches and routed.reason else "no_matching_rule"
        return {**rule, "decision": "skip", "reason": reason}
    verdict = rules.tag_verdict(push, agent)
    if not verdict.deploy:
        return {**rule, "decision": "skip", "reason": verdict.reason}
    return {**rule, "decision": "deploy", "reason": None, "unless": STATE_CHECKS}


_WHY = {
    "no_matching_rule": "its rule names {registry}{repository}, not this image",
    "tag_policy": "its tags {tags!r} do not accept this tag",
    "registry_not_allowed": "the registry is not in registries (the push is refused)",
    "untagged": "the push has no tag (ignored)",
}


def _text(image: str, decisions: list[dict[str, Any]]) -> str:
    lines = [f"a push of {image}:"]
    for d in decisions:
        if d["decision"] == "deploy":
            lines.append(f"  {d['agent']}: deploy ({d['unless']})")
            continue
        registry = f"{d['registry']}/" if d["registry"] else ""
        why = _WHY.get(d["reason"], d["reason"]).format(**{**d, "registry": registry})
        lines.append(f"  {d['agent']}: skip, {d['reason']}: {why}")
    return "\n".join(lines)
