"""The app settings the Bicep sets are exactly the ones the app reads (deployer/config/settings.py)."""

from __future__ import annotations

import json
import re

from deployer.config.settings import AZURE_SETTINGS, LOCAL_ONLY_SETTINGS
from tests.infra.bicep_text import INFRA, bicep_files, block_after, params, without_comments

DEPLOYER = INFRA / "app" / "deployer.bicep"
MAIN = INFRA / "main.bicep"

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


def test_app_settings_block_is_exactly_azure_settings() -> None:
    keys, _ = _settings_block("appSettings")
    assert len(keys) == len(set(keys)), f"duplicate keys: {keys}"
    assert set(keys) == set(AZURE_SETTINGS), (
        f"missing in Bicep: {sorted(set(AZURE_SETTINGS) - set(keys))}; "
        f"not read by the app: {sorted(set(keys) - set(AZURE_SETTINGS))}"
    )


def test_host_settings_are_identity_based() -> None:
    keys, body = _settings_block("hostSettings")
    assert set(keys) == HOST_SETTINGS
    assert "'managedidentity'" in body
    assert "Authorization=AAD" in body
    assert not set(keys) & set(AZURE_SETTINGS)


def test_all_setting_blocks_reach_the_app() -> None:
    text = DEPLOYER.read_text()
    assert re.search(r"properties:\s*union\(hostSettings,\s*appSettings,\s*webhookSecretSettings\)", text)
    assert re.search(r"resource\s+\w+\s+'Microsoft\.Web/sites/config@[^']+'", text)
    assert "name: 'appsettings'" in text


def test_no_secret_or_flex_incompatible_settings() -> None:
    text = without_comments(DEPLOYER.read_text())
    for forbidden in (
        "FUNCTIONS_WORKER_RUNTIME",  # Flex Consumption takes the runtime from functionAppConfig
        "FUNCTIONS_EXTENSION_VERSION",
        "APPINSIGHTS_INSTRUMENTATIONKEY",  # telemetry authenticates with the identity
        "AccountKey=",
        "AzureWebJobsStorage:",  # the connection-string form
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
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
    assert set(example) - host_settings == set(AZURE_SETTINGS) | set(LOCAL_ONLY_SETTINGS)
