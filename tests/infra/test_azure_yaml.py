"""azure.yaml names the service, its language and host, and hooks that exist and can run."""

from __future__ import annotations

import os
import re

import yaml

from tests.infra.bicep_text import INFRA, REPO

AZURE_YAML = REPO / "azure.yaml"


def _load() -> dict:
    data = yaml.safe_load(AZURE_YAML.read_text())
    assert isinstance(data, dict)
    return data


def test_service_language_and_host() -> None:
    data = _load()
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*[a-z0-9]", data["name"])
    service = data["services"]["deployer"]
    assert service["language"] == "python"
    assert service["host"] == "function"
    assert (REPO / service.get("project", ".") / "host.json").exists()


def test_service_name_matches_the_function_app_tag() -> None:
    assert "'azd-service-name': serviceName" in (INFRA / "app" / "deployer.bicep").read_text()
    assert re.search(r"serviceName:\s*'deployer'", (INFRA / "main.bicep").read_text())


def test_hooks_provision_secrets_and_subscribe_after_deploy() -> None:
    hooks = _load()["hooks"]
    assert hooks["postprovision"]["run"] == "./scripts/post-provision.sh"
    assert hooks["postdeploy"]["run"] == "./scripts/post-up.sh"
    assert hooks["predown"]["run"] == "./scripts/pre-down.sh"  # removes this environment's subscription


def test_hook_scripts_exist_and_are_executable() -> None:
    for name, hook in _load()["hooks"].items():
        runs = [hook] + [hook[os_name] for os_name in ("posix", "windows") if os_name in hook]
        for entry in runs:
            if "run" not in entry:
                continue
            script = (REPO / entry["run"]).resolve()
            assert script.is_file(), f"{name}: {entry['run']} does not exist"
            assert os.access(script, os.X_OK), f"{name}: {entry['run']} is not executable"
            first_line = script.read_text().splitlines()[0]
            assert first_line.startswith("#!"), f"{name}: {entry['run']} has no shebang"
            if entry.get("shell") == "sh":
                # azd runs `sh script`: the scripts re-run themselves under bash.
                assert 'exec bash "$0" "$@"' in script.read_text()


def test_eventgrid_template_used_by_the_hook_exists() -> None:
    script = (REPO / "scripts" / "post-up.sh").read_text()
    assert "infra/app/eventgrid-subscription.bicep" in script
    assert (INFRA / "app" / "eventgrid-subscription.bicep").is_file()
