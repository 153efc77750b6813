"""``config check`` as a person reads it: every problem once, where it is written, in words that
say what to change."""

import textwrap

import pytest

from deployer.cli.main import main
from deployer.config.parser import ConfigError, load_config, parse_config
from tests.unit.conftest import PROJECT_ID

REGISTRY = "a.azurecr.io"

TEN_MISTAKES = textwrap.dedent(
    """\
    registries: ["myregistry.azurecr.io"]
    project_resource_id: "${PROJECT_ID}"
    agents:
      - name: support-bot
        repositry: agents/support-bot
        tag: "semver:^1.2"
        rollout:
          strategy: canery
      - name: support-bot-prod
        repository: agents/support-bot
        repository: agents/other
        memory: 2G
        promote_to:
          agent: suport-bot
      - name: third
        canery: true
        keep_versions: 0
    webhooks:
      - url: https://hooks.example.com/x
        format: slack
        agents: [suport-bot]
    """
)


def problems_in(tmp_path, text, settings=None):
    path = tmp_path / "deployer.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(str(path), settings or {}, resolve_names=False)
    return [p.removeprefix(f"{path}:") for p in caught.value.problems]


def test_ten_typical_mistakes_are_each_listed_once_with_their_line_and_column(tmp_path):
    assert problems_in(tmp_path, TEN_MISTAKES) == [
        "2:1: project_resource_id: ${PROJECT_ID} is not set as an app setting",
        "5:5: agents[0].repositry: unknown field (did you mean 'repository'?)",
        "6:5: agents[0].tag: unknown field (did you mean 'tags'?)",
        "8:7: agents[0].rollout.strategy: must be one of immediate, verified, canary"
        " (did you mean 'canary'?)",
        "10:5: agents[1].repository: set twice (lines 10 and 11); keep one",
        '12:5: agents[1].memory: \'2G\' is not a memory amount (e.g. "2Gi" or "512Mi")',
        "14:7: agents[1].promote_to.agent: 'suport-bot' must be another configured agent"
        " (did you mean 'support-bot'?)",
        "15:5: agents[2].repository: missing (required)",
        "16:5: agents[2].canery: unknown field (did you mean rollout: {strategy: canary}?)",
        "17:5: agents[2].keep_versions: must be a whole number of at least 1",
        "21:5: webhooks[0].agents: 'suport-bot' is not a configured agent (did you mean 'support-bot'?)",
    ]


def test_a_key_that_is_not_a_string_is_reported_where_it_is_written(tmp_path):
    head = f"registries: [{REGISTRY}]\nproject_resource_id: {PROJECT_ID}\nagents:\n  - name: bot\n"
    top = head + "    repository: agents/bot\n1: x\nnull: y\n1.5: z\n"
    nested = head + "    3: x\n    repository: agents/bot\n"

    assert problems_in(tmp_path, top) == [
        "6:1: [1]: a key must be text: put it in quotes, or remove it",
        "7:1: [None]: a key must be text: put it in quotes, or remove it",
        "8:1: [1.5]: a key must be text: put it in quotes, or remove it",
    ]
    assert problems_in(tmp_path, nested) == [
        "5:5: agents[0][3]: a key must be text: put it in quotes, or remove it"
    ]


def test_a_key_set_twice_is_refused_naming_both_lines(tmp_path):
    text = "registries: [a.azurecr.io]\nregistries: [b.azurecr.io]\nagents: []\n"
    assert "1:1: registries: set twice (lines 1 and 2); keep one" in problems_in(tmp_path, text)


def test_an_unset_setting_inherited_by_every_agent_is_one_problem():
    agents = [{"name": n, "repository": "agents/x"} for n in ("a", "b", "c")]
    raw = {"registries": ["${REGISTRY}"], "project_resource_id": "${PROJECT}", "agents": agents}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, {"PROJECT": PROJECT_ID})
    assert caught.value.problems == ["registries[0]: ${REGISTRY} is not set as an app setting"]
    with pytest.raises(ConfigError) as caught:
        parse_config({**raw, "registries": ["a.azurecr.io"]}, {})
    assert caught.value.problems == ["project_resource_id: ${PROJECT} is not set as an app setting"]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"agents": [{"name": "a", "repository": "a/b"}]}, "registries: missing (required)"),
        ({"registries": [REGISTRY]}, "agents: missing (required)"),
        ({"registries": [REGISTRY], "agents": [{"name": "a"}]}, "agents[0].repository: missing (required)"),
        ({"registries": [REGISTRY], "agents": [{"repository": "a/b"}]}, "agents[0].name: missing (required)"),
    ],
)
def test_a_missing_required_field_says_so(raw, problem):
    for agent in raw.get("agents", []):
        agent["project_resource_id"] = PROJECT_ID
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, {})
    assert caught.value.problems == [problem]


def test_a_rollout_named_like_canary_points_to_the_strategy_mapping():
    agent = {"name": "a", "repository": "a/b", "project_resource_id": PROJECT_ID, "rollout": "canery"}
    with pytest.raises(ConfigError) as caught:
        parse_config({"registries": ["a.azurecr.io"], "agents": [agent]}, {})
    assert caught.value.problems == [
        "agents[0].rollout: must be 'immediate' or 'verified', or a mapping with strategy"
        " (did you mean {strategy: canary}?)"
    ]


def test_config_check_prints_each_problem_on_its_own_line_and_exits_1(tmp_path, capsys):
    path = tmp_path / "deployer.yaml"
    path.write_text(TEN_MISTAKES)
    assert main(["config", "check", str(path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "invalid configuration:"
    assert len(lines) == 12 and all(line.startswith(f"  - {path}:") for line in lines[1:])


def test_text_that_is_not_yaml_is_one_problem_where_parsing_stopped(tmp_path):
    text = "registries: [a.azurecr.io]\nagents:\n  - name: x\n   repository: y\n"
    assert problems_in(tmp_path, text) == [
        "4:4: not valid YAML: expected <block end>, but found '<block mapping start>'"
        " (while parsing a block collection at line 3, column 3)"
    ]


@pytest.mark.parametrize(
    "text",
    [
        'registries: [a.azurecr.io]\nproject_resource_id: "${UNSET}"\nagents: [1, "x", null]\n',
        "registries: [a.azurecr.io]\nagents: {name: x}\n",
        "registries: [a.azurecr.io]\nagents:\n  - {name: 1, repository: [], rollout: 5, promote_to: 3}\n",
        "registries: a.azurecr.io\n1: 2\nagents: [{name: x, repository: a/b, smoke_test: []}]\n",
        "registries: [a.azurecr.io]\nwebhooks: [1]\nagents: [{name: x, repository: a/b, <<: {cpu: 2}}]\n",
        "- just\n- a list\n",
        "",
    ],
)
def test_a_malformed_file_is_a_list_of_problems_never_a_crash(tmp_path, text):
    problems = problems_in(tmp_path, text)
    assert problems and all(isinstance(p, str) and p for p in problems)
