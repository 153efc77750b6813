"""The azd hook scripts, run against a fake `az` that records its calls (no Azure, no network)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.bicep_text import REPO

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the hooks are bash scripts")

FAKE_AZ = r"""#!/usr/bin/env bash
# Records each call as one JSON line; answers like the real CLI where the scripts look.
python3 - "$@" >>"$FAKE_LOG" <<'PY'
import json, sys
print(json.dumps(sys.argv[1:]))
PY
case "$*" in
  "keyvault secret show --query value"*)
    if [ -f "$FAKE_STATE/secret-for-check" ]; then cat "$FAKE_STATE/secret-for-check"; exit 0; fi
    echo "ERROR: (Forbidden) Caller is not authorized to perform action on resource." >&2
    exit 1 ;;
  "functionapp config appsettings list"*) cat "$FAKE_STATE/appsettings.json" ;;
  "eventgrid system-topic event-subscription show"*)
    if [ -f "$FAKE_STATE/subscription-error" ]; then cat "$FAKE_STATE/subscription-error" >&2; exit 1; fi
    echo "/subscriptions/s/.../eventSubscriptions/x" ;;
  "keyvault secret show"*)
    if [ -f "$FAKE_STATE/secret-exists" ]; then echo "https://kv/secrets/x/1"; exit 0; fi
    echo "ERROR: (SecretNotFound) A secret with (name/id) x was not found in this key vault." >&2
    exit 3 ;;
  "keyvault secret set"*)
    while [ $# -gt 0 ]; do
      if [ "$1" = "--file" ]; then cp "$2" "$FAKE_STATE/secret-value"; fi
      shift
    done ;;
  "functionapp function show"*) echo "$FAKE_FUNCTION_ID" ;;
esac
exit 0
"""

FAKE_AZD = "#!/usr/bin/env bash\nexit 1\n"  # no azd environment: everything comes from the test

RG_ID = "/subscriptions/s/resourceGroups/rg-dev"
APP_ID = f"{RG_ID}/providers/Microsoft.Web/sites/func-deployer-x"
ENV = {
    "AZURE_ENV_NAME": "dev",
    "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
    "AZURE_RESOURCE_GROUP": "rg-dev",
    "AZURE_FUNCTION_APP_NAME": "func-deployer-x",
    "AZURE_FUNCTION_APP_ID": APP_ID,
    "AZURE_STORAGE_ACCOUNT_ID": f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/stx",
    "DEADLETTER_CONTAINER_NAME": "eventgrid-deadletter",
    "REGISTRY_RESOURCE_GROUP": "rg-registry",
    "REGISTRY_EVENTS_TOPIC_NAME": "evgt-myregistry",
    "AZURE_KEY_VAULT_NAME": "kv-x",
    "AZURE_LOCATION": "swedencentral",
    "AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID": "11111111-1111-1111-1111-111111111111",
    "AZURE_STORAGE_ACCOUNT_NAME": "stx",
    "REGISTRY_NAME": "myregistry",
    "FOUNDRY_RESOURCE_GROUP": "rg-foundry",
    "FOUNDRY_ACCOUNT_NAME": "my-foundry",
    "FOUNDRY_PROJECT_NAME": "my-project",
    "WEBHOOK_SECRET_SETTING_NAMES": "WEBHOOK_SECRET",
    "EVENTGRID_SUBSCRIPTION_NAME": "agent-deployer-abc123",
    "DEPLOYER_PYTHON": sys.executable,
}
PROJECT_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-foundry/providers/"
    "Microsoft.CognitiveServices/accounts/my-foundry/projects/my-project"
)
# The deployed app's settings as `az functionapp config appsettings list` shows them (abridged).
APP_SETTINGS = {
    "DEPLOYER_CONFIG": "deployer.yaml",
    "FOUNDRY_PROJECT_ENDPOINT": "https://my-foundry.services.ai.azure.com/api/projects/my-project",
    "REGISTRY_LOGIN_SERVER": "myregistry.azurecr.io",
    "FOUNDRY_PROJECT_RESOURCE_ID": PROJECT_ID,
    "WEBHOOK_SECRET": "@Microsoft.KeyVault(VaultName=kv-x;SecretName=webhook-secret)",
}


Calls = list[list[str]]


def run_hook(
    tmp_path: Path, script: str, app_settings: dict[str, str] | None = None, **extra: str
) -> tuple[subprocess.CompletedProcess[str], Calls]:
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir(exist_ok=True)
    state.mkdir(exist_ok=True)
    listed = [
        {"name": k, "value": v, "slotSetting": False} for k, v in (app_settings or APP_SETTINGS).items()
    ]
    (state / "appsettings.json").write_text(json.dumps(listed))
    for name, body in (("az", FAKE_AZ), ("azd", FAKE_AZD)):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "az.log"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "FAKE_LOG": str(log),
        "FAKE_STATE": str(state),
        "FAKE_FUNCTION_ID": f"{APP_ID}/functions/on_image_pushed",
        **ENV,
        **extra,
    }
    # `sh script`, as azd runs hooks with shell: sh.
    result = subprocess.run(
        ["sh", str(REPO / "scripts" / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def deployment_call(calls: Calls, scope: str = "group") -> list[str]:
    found = [call for call in calls if call[:3] == ["deployment", scope, "create"]]
    assert len(found) == 1, calls
    return found[0]


def test_post_up_deploys_the_subscription_template(tmp_path: Path) -> None:
    result, calls = run_hook(tmp_path, "post-up.sh")
    assert result.returncode == 0, result.stderr
    call = deployment_call(calls)
    assert call[call.index("--resource-group") + 1] == "rg-registry"
    assert call[call.index("--template-file") + 1].endswith("infra/app/eventgrid-subscription.bicep")
    assert f"functionResourceId={APP_ID}/functions/on_image_pushed" in call
    assert "systemTopicName=evgt-myregistry" in call
    assert "deadLetterContainerName=eventgrid-deadletter" in call
    assert "subscriptionName=agent-deployer-abc123" in call  # this environment's own subscription
    assert "repositories=[]" in call
    assert ["account", "set", "--subscription", ENV["AZURE_SUBSCRIPTION_ID"], "--only-show-errors"] in calls


def test_post_up_checks_the_deployed_config_with_the_app_settings_before_subscribing(tmp_path: Path) -> None:
    result, calls = run_hook(tmp_path, "post-up.sh")
    assert result.returncode == 0, result.stderr
    assert "deployer.yaml: ok (1 agents, 1 registries)" in result.stdout
    index = {tuple(c[:4]): i for i, c in enumerate(calls)}
    listed = index[("functionapp", "config", "appsettings", "list")]
    assert listed < index[("deployment", "group", "create", "--resource-group")]


def test_post_up_stops_when_the_app_lacks_a_setting_the_config_refers_to(tmp_path: Path) -> None:
    # The azd environment has the value; the deployed app does not: the check must use the app's.
    settings = {k: v for k, v in APP_SETTINGS.items() if k != "REGISTRY_LOGIN_SERVER"}
    result, calls = run_hook(tmp_path, "post-up.sh", settings, REGISTRY_LOGIN_SERVER="myregistry.azurecr.io")
    assert result.returncode != 0
    assert "${REGISTRY_LOGIN_SERVER} is not set as an app setting" in result.stderr
    assert "the deployed config is not valid" in result.stderr
    assert not [call for call in calls if call[:2] == ["deployment", "group"]]


def _config_with_a_signed_webhook(tmp_path: Path) -> Path:
    config = tmp_path / "deployed.yaml"
    # A literal public address: config check resolves hosts and refuses private ones; nothing is sent.
    config.write_text(
        (REPO / "deployer.yaml").read_text()
        + "webhooks:\n  - {url: 'https://20.20.20.20/hooks/deployer', secret: '${WEBHOOK_SECRET}'}\n"
    )
    return config


def test_post_up_checks_webhook_secrets_with_their_key_vault_values(tmp_path: Path) -> None:
    secret = "whsec_" + "A" * 43 + "="
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "secret-for-check").write_text(secret + "\n")
    settings = {**APP_SETTINGS, "DEPLOYER_CONFIG": str(_config_with_a_signed_webhook(tmp_path))}
    result, calls = run_hook(tmp_path, "post-up.sh", settings)
    assert result.returncode == 0, result.stderr
    shows = [call for call in calls if call[:5] == ["keyvault", "secret", "show", "--query", "value"]]
    assert len(shows) == 1
    assert shows[0][-4:] == ["--vault-name", "kv-x", "--name", "webhook-secret"]
    assert secret not in result.stdout + result.stderr
    assert not any(secret in arg for call in calls for arg in call)


def test_post_up_stops_when_a_secret_cannot_be_read(tmp_path: Path) -> None:
    settings = {**APP_SETTINGS, "DEPLOYER_CONFIG": str(_config_with_a_signed_webhook(tmp_path))}
    result, calls = run_hook(tmp_path, "post-up.sh", settings)
    assert result.returncode != 0
    assert (
        "WEBHOOK_SECRET: cannot read @Microsoft.KeyVault(VaultName=kv-x;SecretName=webhook-secret)"
        in result.stderr
    )
    assert not [call for call in calls if call[:2] == ["deployment", "group"]]


def test_post_up_filters_to_configured_repositories(tmp_path: Path) -> None:
    result, calls = run_hook(
        tmp_path, "post-up.sh", DEPLOYER_REPOSITORIES=" agents/support-bot, agents/echo "
    )
    assert result.returncode == 0, result.stderr
    assert 'repositories=["agents/support-bot","agents/echo"]' in deployment_call(calls)


def test_post_up_refuses_a_bad_repository_name(tmp_path: Path) -> None:
    result, calls = run_hook(tmp_path, "post-up.sh", DEPLOYER_REPOSITORIES='agents/x","y')
    assert result.returncode != 0
    assert "not a repository name" in result.stderr
    assert not [call for call in calls if call[:2] == ["deployment", "group"]]


def test_post_up_names_what_is_missing(tmp_path: Path) -> None:
    result, _ = run_hook(tmp_path, "post-up.sh", REGISTRY_EVENTS_TOPIC_NAME="")
    assert result.returncode != 0
    assert "REGISTRY_EVENTS_TOPIC_NAME" in result.stderr


def test_post_provision_creates_a_missing_secret_from_a_file(tmp_path: Path) -> None:
    result, calls = run_hook(tmp_path, "post-provision.sh")
    assert result.returncode == 0, result.stderr
    sets = [call for call in calls if call[:3] == ["keyvault", "secret", "set"]]
    assert len(sets) == 1
    assert sets[0][sets[0].index("--name") + 1] == "webhook-secret"
    value = (tmp_path / "state" / "secret-value").read_text()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", value)
    assert not any(value in arg for call in calls for arg in call), "the secret must not be on a command line"


def test_post_provision_keeps_an_existing_secret(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "secret-exists").touch()
    result, calls = run_hook(tmp_path, "post-provision.sh")
    assert result.returncode == 0, result.stderr
    assert not [call for call in calls if call[:3] == ["keyvault", "secret", "set"]]


def test_post_provision_deploys_the_external_resources(tmp_path: Path) -> None:
    result, calls = run_hook(tmp_path, "post-provision.sh")
    assert result.returncode == 0, result.stderr
    call = deployment_call(calls, "sub")
    assert call[call.index("--location") + 1] == "swedencentral"
    assert call[call.index("--template-file") + 1].endswith("infra/external.bicep")
    for expected in (
        "appResourceGroupName=rg-dev",
        "appPrincipalId=11111111-1111-1111-1111-111111111111",
        "registryName=myregistry",
        "registryResourceGroupName=rg-registry",
        "systemTopicName=evgt-myregistry",
        "foundryProjectName=my-project",
        "grantProjectRegistryPull=false",
        "grantDeployerRegistryPull=true",  # the image check reads the registry with the app identity
        "deployerRegistryPullRole=AcrPull",
        "projectManagerRoleId=eadc314b-1a2d-4efa-be10-5d325db5065e",
    ):
        assert expected in call, expected
    # The topic must not carry azd's own tag (azd takes tagged groups and resources for its own).
    assert not any("azd-env-name" in arg for arg in call)
    # External resources first, then the secrets.
    index = {tuple(c[:3]): i for i, c in enumerate(calls)}
    assert index[("deployment", "sub", "create")] < index[("keyvault", "secret", "show")]


@pytest.mark.parametrize("flag", ["GRANT_PROJECT_REGISTRY_PULL", "GRANT_DEPLOYER_REGISTRY_PULL"])
def test_post_provision_refuses_a_bad_grant_flag(tmp_path: Path, flag: str) -> None:
    result, calls = run_hook(tmp_path, "post-provision.sh", **{flag: "yes"})
    assert result.returncode != 0
    assert flag in result.stderr
    assert not [call for call in calls if call[:2] == ["deployment", "sub"]]


def test_pre_down_deletes_this_environments_subscription_only(tmp_path: Path) -> None:
    result, calls = run_hook(tmp_path, "pre-down.sh")
    assert result.returncode == 0, result.stderr
    deletes = [
        call for call in calls if call[:4] == ["eventgrid", "system-topic", "event-subscription", "delete"]
    ]
    assert len(deletes) == 1
    call = deletes[0]
    assert call[call.index("--name") + 1] == "agent-deployer-abc123"
    assert call[call.index("--resource-group") + 1] == "rg-registry"
    assert call[call.index("--system-topic-name") + 1] == "evgt-myregistry"
    assert "--yes" in call
    # The system topic is shared with other environments and stays.
    assert not [c for c in calls if c[:3] == ["eventgrid", "system-topic", "delete"]]


def test_pre_down_is_done_when_the_subscription_is_already_gone(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "subscription-error").write_text(
        "ERROR: (ResourceNotFound) The Resource 'Microsoft.EventGrid/systemTopics/evgt-myregistry/"
        "eventSubscriptions/agent-deployer-abc123' under resource group 'rg-registry' was not found.\n"
    )
    result, calls = run_hook(tmp_path, "pre-down.sh")
    assert result.returncode == 0, result.stderr
    assert not [call for call in calls if "delete" in call]


def test_pre_down_stops_azd_down_on_another_error(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "subscription-error").write_text("ERROR: (AuthorizationFailed) no read access\n")
    result, calls = run_hook(tmp_path, "pre-down.sh")
    assert result.returncode != 0
    assert "AuthorizationFailed" in result.stderr
    assert not [call for call in calls if "delete" in call]


def test_pre_down_does_nothing_for_an_environment_never_provisioned(tmp_path: Path) -> None:
    result, calls = run_hook(tmp_path, "pre-down.sh", EVENTGRID_SUBSCRIPTION_NAME="")
    assert result.returncode == 0, result.stderr
    assert calls == []
