import pytest

from deployer.config.parser import ConfigError, parse_config
from deployer.config.settings import Settings, SettingsError
from tests.unit.conftest import PROJECT_ID


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
