"""What `az bicep build` would catch and the offline checks cannot: module wiring, pins, settings.

The registry modules cannot be fetched offline, so these tests read the Bicep text: every local
module gets exactly parameters it declares (and all it requires), outputs read from local
modules exist, registry modules are pinned, and the security settings that matter are in place.
"""

from __future__ import annotations

import re

import pytest

from tests.infra.bicep_text import (
    INFRA,
    bicep_files,
    block_after,
    mask,
    modules,
    outputs,
    params,
    without_comments,
)

MAIN = INFRA / "main.bicep"
LOCAL_USES = [
    (path, use)
    for path in bicep_files()
    for use in modules(path.read_text())
    if not use.source.startswith("br")
]


@pytest.mark.parametrize(
    ("path", "use"), LOCAL_USES, ids=lambda v: getattr(v, "symbol", getattr(v, "name", ""))
)
def test_local_module_parameters_match(path, use) -> None:
    target = (path.parent / use.source).resolve()
    assert target.is_file(), f"{use.source} does not exist"
    declared = params(target.read_text())
    given = set(use.params)
    assert given <= set(declared), f"{use.symbol}: unknown parameters {sorted(given - set(declared))}"
    required = {name for name, has_default in declared.items() if not has_default}
    assert required <= given, f"{use.symbol}: missing required parameters {sorted(required - given)}"


def test_outputs_read_from_local_modules_exist() -> None:
    for path in bicep_files():
        text = path.read_text()
        local = {
            use.symbol: (path.parent / use.source).resolve()
            for use in modules(text)
            if not use.source.startswith("br")
        }
        for symbol, name in re.findall(r"\b(\w+)\.outputs\.\??(\w+)", text):
            if symbol in local:
                assert name in outputs(local[symbol].read_text()), f"{path.name}: {symbol}.outputs.{name}"


def test_registry_modules_are_pinned() -> None:
    for path in bicep_files():
        for use in modules(path.read_text()):
            if use.source.startswith("br"):
                pinned = r"br/public:avm/(res|ptn|utl)/[\w/-]+:\d+\.\d+\.\d+"
                assert re.fullmatch(pinned, use.source), use.source


def test_checkov_skips_carry_a_reason() -> None:
    for path in bicep_files():
        for match in re.finditer(r"checkov:skip=([^:\n]*)(:?)(.*)", path.read_text()):
            assert re.fullmatch(r"CKV2?_[A-Z]+_\d+", match.group(1)), match.group(0)
            assert match.group(2) and len(match.group(3).strip()) >= 30, f"{path.name}: {match.group(0)}"


def test_storage_accepts_entra_id_only() -> None:
    text = (INFRA / "app" / "storage.bicep").read_text()
    for setting in (
        "allowSharedKeyAccess: false",
        "allowBlobPublicAccess: false",
        "minimumTlsVersion: 'TLS1_2'",
        "supportsHttpsTrafficOnly: true",
        "defaultToOAuthAuthentication: true",
    ):
        assert setting in text, setting
    assert "publicAccess: 'None'" in text


def test_key_vault_uses_rbac() -> None:
    text = (INFRA / "app" / "keyvault.bicep").read_text()
    assert "enableRbacAuthorization: true" in text
    assert "accessPolicies" not in text


def test_telemetry_needs_the_identity() -> None:
    assert re.search(r"disableLocalAuth:\s*true", MAIN.read_text())


def test_function_app_is_flex_python_311_with_a_user_assigned_identity() -> None:
    text = (INFRA / "app" / "deployer.bicep").read_text()
    main = MAIN.read_text()
    assert "name: 'FC1'" in main and "tier: 'FlexConsumption'" in main
    assert "kind: 'functionapp,linux'" in text
    assert "type: 'UserAssigned'" in text
    assert re.search(r"param pythonVersion string = '3\.11'", text)
    assert "name: 'python'" in text
    assert "type: 'UserAssignedIdentity'" in text  # deployment container read with the identity
    assert "httpsOnly: true" in text
    assert text.count("allow: false") == 2  # no basic-auth FTP or SCM publishing
    assert "instanceMemoryMB: instanceMemoryMB" in text
    assert "maximumInstanceCount: maximumInstanceCount" in text


def test_azd_deployment_stays_in_its_own_resource_group() -> None:
    # `azd down` deletes every resource group the azd deployment put resources into
    # (Azure/azure-dev#2916): main.bicep must deploy into the deployer's group only.
    main = MAIN.read_text()
    masked = mask(main)
    for use in modules(main):
        body = block_after(main, rf"^module\s+{use.symbol}\s", masked=masked).body
        assert re.search(r"^  scope: rg$", body, re.M), f"module {use.symbol} must be scoped to rg"
    assert not re.search(r"Microsoft\.Authorization/roleAssignments", main)
    assert "Microsoft.EventGrid" not in without_comments(main)


def test_registry_system_topic() -> None:
    external = (INFRA / "external.bicep").read_text()
    assert "topicType: 'Microsoft.ContainerRegistry.Registries'" in external
    assert "location: registry.location" in external
    assert "scope: resourceGroup(registryResourceGroupName)" in external
    assert "systemAssigned: true" in external
    assert "azd-env-name" not in without_comments(external)


def test_eventgrid_subscription() -> None:
    text = (INFRA / "app" / "eventgrid-subscription.bicep").read_text()
    assert "endpointType: 'AzureFunction'" in text
    assert "'Microsoft.ContainerRegistry.ImagePushed'" in text
    assert "maxEventsPerBatch: 1" in text
    assert "retryPolicy:" in text and "maxDeliveryAttempts: maxDeliveryAttempts" in text
    assert "deadLetterWithResourceIdentity:" in text
    assert "key: 'data.target.repository'" in text


BICEP_FUNCTIONS = {
    "environment",
    "guid",
    "join",
    "replace",
    "resourceGroup",
    "string",
    "subscription",
    "take",
    "tenant",
    "toLower",
    "uniqueString",
}


def test_interpolations_name_declared_symbols() -> None:
    # `az bicep build` would reject '${name}' for an undeclared name; "\${...}" is a literal.
    for path in bicep_files():
        text = without_comments(path.read_text())
        declared = set(re.findall(r"^(?:param|var|resource|module|output)\s+(\w+)", text, re.M))
        declared |= set(re.findall(r"\[for\s+(\w+)\s+in\b", text))
        for name in re.findall(r"(?<!\\)\$\{\s*(\w+)", text):
            assert name in declared or name in BICEP_FUNCTIONS, f"{path.name}: ${{{name}}} is not declared"


def test_each_azd_environment_has_its_own_event_subscription() -> None:
    main = MAIN.read_text()
    assert "var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))" in main
    assert "output EVENTGRID_SUBSCRIPTION_NAME string = 'agent-deployer-${resourceToken}'" in main
    # No shared default name to fall back on.
    assert params((INFRA / "app" / "eventgrid-subscription.bicep").read_text())["subscriptionName"] is False


def test_the_app_identity_reads_the_registry_for_the_image_check() -> None:
    rbac = without_comments((INFRA / "app" / "rbac-registry.bicep").read_text())
    grant = block_after(rbac, r"^resource\s+appImageRead\s").body
    assert "principalId: appPrincipalId" in grant and "scope: registry" in grant
    assert re.search(r"param appPullRole string = 'AcrPull'", rbac)
    external = without_comments((INFRA / "external.bicep").read_text())
    assert "appPrincipalId: grantDeployerRegistryPull ? appPrincipalId : ''" in external
    assert re.search(r"param grantDeployerRegistryPull bool = true", external)
    assert re.search(r"param grantDeployerRegistryPull bool = true", MAIN.read_text())
