"""``agent-deployer config explain IMAGE``: what the deployer would decide for a push of IMAGE,
agent by agent, with the decisions the Event Grid trigger makes (``deployer.domain.rules``): the
rules from the config file; the agents' state (paused, held digests, the active digest, the
highest tag started) from a deployer when ``--url``/``DEPLOYER_URL`` names one, else named as
what the push still depends on."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from deployer.cli import problems
from deployer.cli.base import EXIT_ERROR, EXIT_FAILED, EXIT_OK, EXIT_REFUSED, client
from deployer.domain import rules
from deployer.domain.agents import AgentConfig, DeployerConfig
from deployer.domain.imageref import ImageRef, ImageRefError, is_valid_digest
from deployer.domain.model import AgentState
from deployer.domain.pushes import ImagePush
from deployer.domain.rollout_state import Hold

#: What the trigger still checks against the agent's row when the push arrives (no deployer given).
STATE_CHECKS = (
    "unless, when it arrives, the agent is paused, the digest is held or already active,"
    " or (semver tags) a higher tag has started"
)
_WHY = {
    "no_matching_rule": "its rule names {registry}{repository}, not this image",
    "tag_policy": "its tags {tags!r} do not accept this tag",
    "registry_not_allowed": "the registry is not in registries (the push is refused)",
    "untagged": "the push has no tag (ignored)",
    "paused": "the agent is paused",
    "held": "the digest is held (a rollback moved away from it)",
    "unchanged": "the digest is the active one",
    "older_than_active": "a higher version has started",
}


def add_arguments(explain: argparse.ArgumentParser) -> None:
    explain.add_argument("image", help="registry/repository:tag that would be pushed")
    explain.add_argument("--digest", help="the pushed digest (sha256:...), to check holds and the active one")
    explain.add_argument("--file", default="deployer.yaml", help="the config (default: deployer.yaml)")
    explain.add_argument("--json", action="store_true", help="the decisions as JSON")
    explain.set_defaults(run=_explain)


def _explain(args: argparse.Namespace) -> int:
    from deployer.config.parser import ConfigError, load_config

    try:
        push = _push(args.image, args.digest)
        config = load_config(args.file, os.environ)
    except ImageRefError as exc:
        problems.report(problems.problem("usage", str(exc)), [f"error: {exc}"], as_json=args.json)
        return EXIT_ERROR
    except ConfigError as exc:
        document = problems.problem("invalid-config", f"{args.file} is not valid", errors=exc.errors)
        problems.report(document, str(exc).splitlines(), as_json=args.json)
        return EXIT_FAILED
    decisions = explain(push, config, _states(args, config))
    if args.json:
        print(json.dumps({"image": args.image, "agents": decisions}, indent=2))
    else:
        print(_text(args.image, decisions))
    return EXIT_OK if any(d["decision"] == "deploy" for d in decisions) else EXIT_REFUSED


def explain(
    push: ImagePush, config: DeployerConfig, states: Mapping[str, AgentState] | None = None
) -> list[dict[str, Any]]:
    """For each configured agent: ``deploy``, or ``skip`` with the reason the trigger records.
    ``states`` (the agents' rows, by name) decide pauses, holds and order; without them those
    are left as :data:`STATE_CHECKS`."""
    routed = rules.route(push, config)
    return [_decision(push, agent, routed, states) for agent in config.agents]


def _decision(
    push: ImagePush, agent: AgentConfig, routed: rules.Route, states: Mapping[str, AgentState] | None
) -> dict[str, Any]:
    rule = {"agent": agent.name, "registry": agent.registry, "repository": agent.repository}
    rule["tags"] = agent.tags.written
    if agent not in routed.agents:
        matches = agent.matches_repository(push.registry, push.repository)
        reason = routed.reason if matches and routed.reason else "no_matching_rule"
        return {**rule, "decision": "skip", "reason": reason}
    verdict = rules.tag_verdict(push, agent)
    if verdict.deploy and states is not None:
        verdict = rules.state_verdict(push, agent, states.get(agent.name) or AgentState(name=agent.name))
    if not verdict.deploy:
        return {**rule, "decision": "skip", "reason": verdict.reason}
    decision: dict[str, Any] = {**rule, "decision": "deploy", "reason": None}
    if agent.approval is not None:  # a push waits as any deployment but a rollback does
        approvers = list(agent.approval.approvers)
        decision["approval"] = {"approvers": approvers, "expires_after_s": agent.approval.expires_after_s}
    return {**decision, **({"unless": STATE_CHECKS} if states is None else {})}


def _push(image: str, digest: str | None) -> ImagePush:
    ref = ImageRef.parse(image)
    if digest is not None and not is_valid_digest(digest):
        raise ImageRefError(f"{digest[:100]!r} is not a digest: expected sha256:<64 hex>")
    return ImagePush(
        registry=ref.registry.lower(), repository=ref.repository, tag=ref.tag, digest=digest or ref.digest
    )


def _states(args: argparse.Namespace, config: DeployerConfig) -> dict[str, AgentState] | None:
    """The agents' rows as the deployer at ``--url``/``DEPLOYER_URL`` shows them, if one is named."""
    if not (getattr(args, "url", None) or os.environ.get("DEPLOYER_URL")):
        return None
    api = client(args)
    states = {}
    for found in api.get("/api/agents")["items"]:
        holds = api.get(f"/api/agents/{quote(found['name'], safe='')}/holds")["items"]
        states[found["name"]] = AgentState(
            name=found["name"],
            paused=bool(found.get("paused")),
            high_tag=found.get("high_tag"),
            active_digest=(found.get("active") or {}).get("digest"),
            holds=tuple(Hold.from_json(h) for h in holds),
        )
    return states


def _text(image: str, decisions: list[dict[str, Any]]) -> str:
    lines = [f"a push of {image}:"]
    for d in decisions:
        if d["decision"] == "deploy":
            lines.append(f"  {d['agent']}: deploy{_waits(d.get('approval'))}{_unless(d)}")
            continue
        registry = f"{d['registry']}/" if d["registry"] else ""
        why = _WHY.get(d["reason"], d["reason"]).format(**{**d, "registry": registry})
        lines.append(f"  {d['agent']}: skip, {d['reason']}: {why}")
    return "\n".join(lines)


def _waits(approval: dict[str, Any] | None) -> str:
    if approval is None:
        return ""
    return f" once approved (by {', '.join(approval['approvers']) or 'anyone who may write'})"


def _unless(decision: dict[str, Any]) -> str:
    return f" ({decision['unless']})" if "unless" in decision else ""
