"""The app settings the Bicep sets are exactly the ones the app reads and the deployed config
refers to (tests/infra/rules.py, also run by infra/check.sh).

The code is read with :mod:`ast` (every module under deployer/), never imported, so these tests
keep working when modules move; the rule is shown to fail on a copy with one thing out of place.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.infra.bicep_text import INFRA, REPO, bicep_files, block_after, params, without_comments
from tests.infra.rules import Layout, bicep_block_keys, declared_list, settings_problems, settings_read

DEPLOYER = INFRA / "app" / "deployer.bicep"
MAIN = INFRA / "main.bicep"
CODE = Layout.repository().code
TREES = [ast.parse(path.read_text()) for path in CODE]
AZURE_SETTINGS = declared_list(TREES, "AZURE_SETTINGS") or set()
LOCAL_ONLY_SETTINGS = declared_list(TREES, "LOCAL_ONLY_SETTINGS") or set()

# What the Functions host and the platform need on Flex Consumption with an identity.
HOST_SETTINGS = {
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "AzureWebJobsStorage__blobServiceUri",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}


def _settings_block(name: str) -> tuple[list[str], str]:
    block = block_after(DEPLOYER.read_text(), rf"^var\s+{name}\s*=")
    return block.top_level_keys(), block.body


def test_the_code_the_bicep_and_the_deployed_config_agree() -> None:
    assert settings_problems(Layout.repository()) == []


def test_the_settings_lists_are_found_in_the_code() -> None:
    assert {"DEPLOYER_CONFIG", "DEPLOYER_TABLE_NAME", "FOUNDRY_PROJECT_ENDPOINT"} <= AZURE_SETTINGS
    assert "DEPLOYER_TABLE_CONNECTION_STRING" in LOCAL_ONLY_SETTINGS


def test_reads_are_found_in_every_form() -> None:
    code = """
import os
def f(env, settings):
    a = env.get("A_SETTING") or os.environ.get("B_SETTING")
    b = os.environ["C_SETTING"], os.getenv("D_SETTING"), "E_SETTING" in env
    c = _positive_int(env, "F_SETTING", 8), settings.get("G_SETTING", "")
    d = other.get("NOT_A_SETTING"), env.get("lower-case"), env.get(name)
"""
    found = settings_read(ast.parse(code))
    assert found == {f"{letter}_SETTING" for letter in "ABCDEFG"}


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(INFRA, root / "infra")
    shutil.copytree(REPO / "deployer", root / "deployer", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("function_app.py", "deployer.yaml"):
        shutil.copy(REPO / name, root / name)
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("where", "old", "new", "problem"),
    [
        (  # the code reads a new setting nobody declared or set
            "function_app.py",
            "import azure.functions as func\n",
            "import os\n\nimport azure.functions as func\n\nEXTRA = os.environ.get('EXTRA_SETTING')\n",
            "the code reads EXTRA_SETTING, which is in neither AZURE_SETTINGS nor LOCAL_ONLY_SETTINGS",
        ),
        (  # the code declares a setting for Azure that infra does not set
            "infra/app/deployer.bicep",
            "  DEPLOYER_WRITE_ROLE: writeRole\n",
            "",
            "the code reads DEPLOYER_WRITE_ROLE, which infra never sets (appSettings)",
        ),
        (  # infra sets a setting the code never reads
            "infra/app/deployer.bicep",
            "  DEPLOYER_WRITE_ROLE: writeRole\n",
            "  DEPLOYER_WRITE_ROLE: writeRole\n  STALE_SETTING: 'x'\n",
            "infra sets STALE_SETTING, which the code never reads",
        ),
        (  # the deployed config refers to a setting infra does not set
            "deployer.yaml",
            "keep_versions: 5",
            "keep_versions: 5\n    project_endpoint: ${OTHER_ENDPOINT}",
            "deployer.yaml refers to ${OTHER_ENDPOINT}, which infra never sets",
        ),
        (  # infra sets a value for the config that the config does not use
            "deployer.yaml",
            'project_resource_id: "${FOUNDRY_PROJECT_RESOURCE_ID}"\n',
            "",
            "infra sets FOUNDRY_PROJECT_RESOURCE_ID for the config, which deployer.yaml never refers to",
        ),
        (  # a local-only setting reaches Azure
            "infra/app/deployer.bicep",
            "  REGISTRY_LOGIN_SERVER: registryLoginServer\n",
            "  REGISTRY_LOGIN_SERVER: registryLoginServer\n  DEPLOYER_STATIC_TOKEN: 'x'\n",
            "infra sets DEPLOYER_STATIC_TOKEN, which is local only",
        ),
    ],
    ids=[
        "code-reads-undeclared",
        "code-reads-unset",
        "infra-sets-unread",
        "config-refers-unset",
        "config-setting-unused",
        "local-only-in-azure",
    ],
)
def test_the_rule_fails_on_each_kind_of_drift(
    tmp_path: Path, where: str, old: str, new: str, problem: str
) -> None:
    root = _copy(tmp_path)
    assert settings_problems(Layout.repository(root)) == []
    _edit(root / where, old, new)
    assert problem in settings_problems(Layout.repository(root))


def test_config_settings_come_from_the_azd_environment() -> None:
    keys, _ = _settings_block("configSettings")
    assert set(keys) == {"REGISTRY_LOGIN_SERVER", "FOUNDRY_PROJECT_RESOURCE_ID"}
    main = MAIN.read_text()
    assert "registryLoginServer: registry.properties.loginServer" in main
    assert "foundryProjectResourceId: foundryProject.id" in main
    assert (
        "output REGISTRY_LOGIN_SERVER string" in main and "output FOUNDRY_PROJECT_RESOURCE_ID string" in main
    )


def test_host_settings_are_identity_based() -> None:
    keys, body = _settings_block("hostSettings")
    assert set(keys) == HOST_SETTINGS
    assert "'managedidentity'" in body
    assert "Authorization=AAD" in body
    assert not set(keys) & set(AZURE_SETTINGS)


def test_all_setting_blocks_reach_the_app() -> None:
    text = DEPLOYER.read_text()
    assert re.search(
        r"properties:\s*union\(hostSettings,\s*appSettings,\s*configSettings,\s*webhookSecretSettings\)", text
    )
    assert re.search(r"resource\s+\w+\s+'Microsoft\.Web/sites/config@[^']+'", text)
    assert "name: 'appsettings'" in text


def test_no_key_based_settings() -> None:
    # (What Flex Consumption rejects is tests/infra/test_flex_consumption.py's.)
    text = without_comments(DEPLOYER.read_text())
    for forbidden in (
        "APPINSIGHTS_INSTRUMENTATIONKEY",  # telemetry authenticates with the identity
        "AccountKey=",
        "AzureWebJobsStorage:",  # the connection-string form
    ):
        assert forbidden not in text, forbidden


def test_local_only_settings_never_reach_azure() -> None:
    files = [*bicep_files(), *INFRA.rglob("*.json")]
    for path in files:
        text = path.read_text()
        for name in LOCAL_ONLY_SETTINGS:
            assert name not in text, f"{name} appears in {path.relative_to(INFRA.parent)}"


def test_webhook_secrets_are_key_vault_references() -> None:
    text = DEPLOYER.read_text()
    pairs = re.search(
        r"^var webhookSecretPairs = \[for (\w+) in webhookSecretSettingNames: (.+)\]$", text, re.M
    )
    assert pairs, "webhookSecretPairs must map every name in webhookSecretSettingNames"
    assert "@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=" in pairs.group(2)
    # References resolve with the app's user-assigned identity, not a (missing) system identity.
    assert "keyVaultReferenceIdentity: identityId" in text


def test_default_webhook_secret_settings_are_separate_from_app_settings() -> None:
    main = MAIN.read_text()
    block = block_after(main, r"^param\s+webhookSecretSettingNames\s+array\s*=")
    names = re.findall(r"'([^']+)'", block.body)
    assert names == ["WEBHOOK_SECRET"]
    for name in names:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name)
        assert name not in AZURE_SETTINGS and name not in LOCAL_ONLY_SETTINGS


def test_parameters_file_names_only_main_bicep_parameters() -> None:
    declared = params(MAIN.read_text())
    given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert set(given) <= set(declared), sorted(set(given) - set(declared))
    # Every required parameter is either mapped (azd fills or prompts) or left to azd's prompt.
    assert {"environmentName", "location"} <= set(given)


def test_local_settings_example_lists_every_setting_the_app_reads() -> None:
    example = json.loads((INFRA.parent / "local.settings.example.json").read_text())["Values"]
    host_settings = {"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsStorage"}
    config_settings = set(bicep_block_keys(DEPLOYER, "configSettings"))
    assert set(example) - host_settings == AZURE_SETTINGS | LOCAL_ONLY_SETTINGS | config_settings
