import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deployer.config.parser import ConfigError, json_schema, parse_config
from deployer.config.settings import Settings, SettingsError
from tests.unit.conftest import PROJECT_ID

ROOT = Path(__file__).resolve().parents[2]


def agent(**overrides):
    return {
        "name": "support-bot",
        "repository": "agents/support-bot",
        "project_resource_id": PROJECT_ID,
        **overrides,
    }


def problems_of(raw, settings=None):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, settings or {})
    return "\n".join(caught.value.problems)


def test_a_valid_file_parses_with_defaults():
    config = parse_config({"registries": ["MyRegistry.azurecr.io"], "agents": [agent()]}, {})
    assert config.registries == ("myregistry.azurecr.io",)
    assert config.agents[0].cpu == "1" and config.agents[0].protocols == {"responses": "1.0.0"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "-bad-", "agents[0].name: '-bad-' is not a valid agent name"),
        ("name", "a" * 64, "at most 63 characters"),
        ("cpu", "lots", "agents[0].cpu: 'lots' is not a CPU amount"),
        ("memory", "2GB", "agents[0].memory: '2GB' is not a memory amount"),
        ("protocols", {"grpc": "1.0.0"}, "agents[0].protocols.grpc: unknown protocol"),
        ("tags", "regex:([", "agents[0].tags: regex '(['"),
        ("environment_variables", {"FOUNDRY_AGENT_NAME": "x"}, "FOUNDRY_ prefix is reserved"),
        ("pin", "sha", "agents[0].pin: must be 'tag' or 'digest'"),
        ("colour", "blue", "agents[0].colour: unknown field"),
    ],
)
def test_each_bad_field_is_named_with_what_is_wrong(field, value, message):
    assert message in problems_of({"registries": ["r.azurecr.io"], "agents": [agent(**{field: value})]})


def test_two_agents_with_one_name_are_refused():
    raw = {"registries": ["r.azurecr.io"], "agents": [agent(), agent()]}
    assert "agents[1].name: 'support-bot' is configured twice" in problems_of(raw)


def test_setting_references_are_read_from_app_settings():
    raw = {"registries": ["r.azurecr.io"], "agents": [agent(environment_variables={"KEY": "${MODEL}"})]}
    assert parse_config(raw, {"MODEL": "gpt-5-mini"}).agents[0].environment_variables == {"KEY": "gpt-5-mini"}
    assert "${MODEL} is not set as an app setting" in problems_of(raw)


def test_all_problems_are_reported_at_once():
    raw = {"registries": [], "agents": [agent(cpu="x", memory="y")]}
    assert len(problems_of(raw).splitlines()) == 3


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"registrys": ["r.azurecr.io"]}, "registrys: unknown field (did you mean 'registries'?)"),
        ({"agents": [agent(cpuu="1")]}, "agents[0].cpuu: unknown field (did you mean 'cpu'?)"),
        (
            {"agents": [agent(rollout={"strategy": "canary", "step": [10, 100]})]},
            "agents[0].rollout.step: unknown field (did you mean 'steps'?)",
        ),
        (
            {"agents": [agent(smoke_test={"input": "hi", "attemps": 2})]},
            "agents[0].smoke_test.attemps: unknown field (did you mean 'attempts'?)",
        ),
        ({"agents": [agent(colour="blue")]}, "agents[0].colour: unknown field"),
    ],
)
def test_an_unknown_key_is_refused_with_the_key_it_may_stand_for(raw, message):
    found = problems_of({"registries": ["r.azurecr.io"], "agents": [agent()], **raw}).splitlines()
    assert message in found
    assert all("did you mean" not in p for p in found if "colour" in p)


def test_the_schema_describes_every_key_of_the_shipped_configs_and_nothing_else():
    schema = json_schema()
    assert schema["required"] == ["registries", "agents"]
    assert schema["$defs"]["Agent"]["required"] == ["name", "repository"]
    for path in (ROOT / "deployer.yaml", *ROOT.joinpath("tests", "integration").glob("deployer.*.yaml")):
        unknown = list(undescribed(yaml.safe_load(path.read_text()), schema, schema))
        assert not unknown, (path.name, unknown)
    assert list(undescribed({"agents": [{"name": "x", "colour": 1}]}, schema, schema)) == ["agents[0].colour"]


def test_the_committed_schema_is_the_one_the_cli_prints():
    printed = subprocess.run(
        [sys.executable, "-m", "deployer", "config", "schema"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(printed) == json_schema() == json.loads((ROOT / "deployer.schema.json").read_text())
    assert (
        (ROOT / "deployer.yaml")
        .read_text()
        .startswith("# yaml-language-server: $schema=./deployer.schema.json")
    )


def undescribed(value, node, schema, at=""):
    """The keys of ``value`` that the schema ``node`` does not describe (objects and arrays walked)."""
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    for option in node.get("anyOf", []) + node.get("oneOf", []):
        kind = option.get("type")
        if "$ref" in option or (kind == "array" and isinstance(value, list)):
            yield from undescribed(value, option, schema, at)
    if isinstance(value, dict) and "properties" in node:
        for key, item in value.items():
            if key not in node["properties"]:
                yield f"{at}.{key}".lstrip(".")
            else:
                yield from undescribed(item, node["properties"][key], schema, f"{at}.{key}".lstrip("."))
    if isinstance(value, list) and "items" in node:
        for i, item in enumerate(value):
            yield from undescribed(item, node["items"], schema, f"{at}[{i}]")


KV_REFERENCE = "@Microsoft.KeyVault(VaultName=myvault;SecretName=webhook-secret)"


def test_an_unresolved_key_vault_reference_is_refused_by_name_never_used():
    raw = {
        "registries": ["r.azurecr.io"],
        "agents": [agent()],
        "webhooks": [{"url": "https://hooks.example.com/x", "secret": "${WEBHOOK_SECRET}"}],
    }
    problems = problems_of(raw, {"WEBHOOK_SECRET": KV_REFERENCE})
    assert (
        "webhooks[0].secret: ${WEBHOOK_SECRET}: WEBHOOK_SECRET is an unresolved Key Vault reference"
        in problems
    )
    assert "myvault" not in problems


def test_an_unresolved_key_vault_reference_in_an_app_setting_is_refused():
    for name in ("DEPLOYER_TABLE_ENDPOINT", "DEPLOYER_WRITE_ROLE", "DEPLOYER_STATIC_TOKEN"):
        with pytest.raises(SettingsError, match=f"{name} is an unresolved Key Vault reference"):
            Settings.from_env({name: " " + KV_REFERENCE})
