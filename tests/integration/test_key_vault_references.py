"""An app setting whose Key Vault reference App Service could not resolve arrives as the literal
``@Microsoft.KeyVault(...)`` text: through the dev host it is refused with a clear error (in the
log of the first invocation; health 503) and never used, in the app's own settings and in ``${NAME}`` values
of the config (webhook secrets)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from localdev.stack import Stack
from tests.integration.extra_hosts import config_file, extra_host, one_webhook_config

REFERENCE = "@Microsoft.KeyVault(VaultName=myvault;SecretName=webhook-secret)"
CONFIG = one_webhook_config(
    "kv-bot", {"url": "https://hooks.example.com/deployments", "secret": "${WEBHOOK_SECRET}"}
)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return config_file(tmp_path_factory, "key-vault", CONFIG)


@pytest.fixture(scope="module")
def secret_host(stack: Stack, config: Path) -> Iterator[str]:
    env = {"DEPLOYER_CONFIG": str(config), "WEBHOOK_SECRET": REFERENCE}
    yield from extra_host(stack, "deployer-kv-secret", env, run_timers=False)


@pytest.fixture(scope="module")
def setting_host(stack: Stack) -> Iterator[str]:
    yield from extra_host(stack, "deployer-kv-setting", {"DEPLOYER_WRITE_ROLE": REFERENCE}, run_timers=False)


def log_of(stack: Stack, name: str) -> str:
    return (stack.state_dir / "logs" / f"{name}.log").read_text()


def test_a_webhook_secret_left_as_a_reference_stops_the_app_with_a_clear_error(stack, http, secret_host):
    status, report = http.request("GET", f"{secret_host}/api/health")
    assert status == 503 and report["checks"][0]["error"] == "ConfigError", report
    status, _ = http.request(
        "POST",
        f"{secret_host}/api/deployments",
        {"agent": "kv-bot", "image": "myregistry.azurecr.io/agents/kv-bot:1.0.0"},
    )
    assert status == 500  # no deployment, no notification signed with the reference text
    log = log_of(stack, "deployer-kv-secret")
    assert "webhooks[0].secret: ${WEBHOOK_SECRET}: WEBHOOK_SECRET is an unresolved Key Vault reference" in log
    assert "myvault" not in log


def test_an_app_setting_left_as_a_reference_stops_the_app_with_a_clear_error(stack, http, setting_host):
    status, report = http.request("GET", f"{setting_host}/api/health")
    assert status == 503 and report["checks"][0]["error"] == "SettingsError", report
    agent = f"kv-{uuid.uuid4().hex[:6]}"
    status, _ = http.request("POST", f"{setting_host}/api/agents/{agent}/pause", raw=b"")
    assert status == 500
    assert "DEPLOYER_WRITE_ROLE is an unresolved Key Vault reference" in log_of(stack, "deployer-kv-setting")
