"""``config explain IMAGE``: what a push would deploy, agent by agent, decided as the Event Grid
trigger decides it."""

import json

import pytest

from deployer.cli import explain
from deployer.cli.main import main
from deployer.deploy.start import handle_event
from deployer.domain.model import AgentState
from deployer.domain.rollout_state import Hold
from tests.unit.builders import context_for, pushed
from tests.unit.conftest import DIGEST, PROJECT_ID, REGISTRY

CONFIG = {
    "registries": [REGISTRY],
    "project_resource_id": PROJECT_ID,
    "agents": [
        {"name": "support-bot", "repository": "agents/support-bot", "tags": "semver:^1.2"},
        {"name": "support-bot-next", "repository": "agents/support-bot", "tags": "2.*"},
        {"name": "other", "repository": "agents/other"},
        {
            "name": "gated",
            "repository": "agents/gated",
            "approval": {"required": True, "approvers": ["release-managers"]},
        },
    ],
}


@pytest.mark.parametrize(
    ("registry", "repository", "tag"),
    [
        (REGISTRY, "agents/support-bot", "1.5.0"),
        (REGISTRY, "agents/support-bot", "2.0.1"),
        (REGISTRY, "agents/support-bot", "0.9.0"),
        (REGISTRY, "agents/nobody", "1.5.0"),
        (REGISTRY, "agents/gated", "1.5.0"),
        ("elsewhere.azurecr.io", "agents/support-bot", "1.5.0"),
    ],
)
def test_explain_says_what_the_trigger_records_for_each_agent(registry, repository, tag):
    ctx = context_for(CONFIG)
    event = pushed(tag, repository=repository, registry=registry)
    assert event.push is not None
    explained = {d["agent"]: d for d in explain.explain(event.push, ctx.config)}
    records = handle_event(ctx, event)
    recorded = {r.agent: r for r in records if r.agent}
    for name, decision in explained.items():
        if name in recorded:
            deployed = recorded[name].status not in ("skipped", "refused", "ignored")
            assert (decision["decision"] == "deploy") == deployed, (name, decision, recorded[name])
            assert decision["reason"] == (None if deployed else recorded[name].reason)
        else:
            assert decision["decision"] == "skip"
            assert decision["reason"] in {r.reason for r in records} | {"no_matching_rule"}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"paused": True}, "paused"),
        ({"holds": (Hold(digest=DIGEST, reason="rolled_back", at="t"),)}, "held"),
        ({"active_digest": DIGEST}, "unchanged"),
        ({"high_tag": "1.9.0"}, "older_than_active"),
        ({"high_tag": "1.1.0"}, None),
    ],
)
def test_explain_with_the_agents_state_skips_as_the_trigger_does(row, reason):
    ctx = context_for(CONFIG)
    state = AgentState(name="support-bot", **row)
    ctx.store.save_agent(state)
    event = pushed("1.5.0", repository="agents/support-bot")
    assert event.push is not None
    [explained, *_] = explain.explain(event.push, ctx.config, {"support-bot": state})
    [recorded] = [r for r in handle_event(ctx, event) if r.agent == "support-bot"]
    assert explained["reason"] == reason == (recorded.reason if recorded.status == "skipped" else None)
    assert explained["decision"] == ("deploy" if reason is None else "skip")
    assert "unless" not in explained


def test_explain_prints_each_agent_and_exits_0_when_one_would_deploy(tmp_path, capsys):
    path = tmp_path / "deployer.yaml"
    path.write_text(json.dumps(CONFIG))
    image = f"{REGISTRY}/agents/support-bot:1.5.0"
    assert main(["config", "explain", image, "--file", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"a push of {image}:",
        f"  support-bot: deploy ({explain.STATE_CHECKS})",
        "  support-bot-next: skip, tag_policy: its tags '2.*' do not accept this tag",
        "  other: skip, no_matching_rule: its rule names agents/other, not this image",
        "  gated: skip, no_matching_rule: its rule names agents/gated, not this image",
    ]


def test_explain_exits_3_with_json_when_no_agent_would_deploy(tmp_path, capsys):
    path = tmp_path / "deployer.yaml"
    path.write_text(json.dumps(CONFIG))
    assert (
        main(
            [
                "config",
                "explain",
                "elsewhere.azurecr.io/agents/support-bot:1.5.0",
                "--file",
                str(path),
                "--json",
            ]
        )
        == 3
    )
    decisions = json.loads(capsys.readouterr().out)["agents"]
    assert [(d["agent"], d["reason"]) for d in decisions] == [
        ("support-bot", "registry_not_allowed"),
        ("support-bot-next", "registry_not_allowed"),
        ("other", "no_matching_rule"),
        ("gated", "no_matching_rule"),
    ]


def test_explain_says_a_push_to_an_agent_with_approval_waits_for_it(tmp_path, capsys):
    path = tmp_path / "deployer.yaml"
    path.write_text(json.dumps(CONFIG))
    assert main(["config", "explain", f"{REGISTRY}/agents/gated:1.0.0", "--file", str(path)]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line == f"  gated: deploy once approved (by release-managers) ({explain.STATE_CHECKS})"
