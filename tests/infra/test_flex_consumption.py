"""No Bicep file sets what the Flex Consumption plan rejects, and infra/check.sh fails if one does.

Source of the list: Microsoft Learn, "Flex Consumption plan deprecations" (the site properties
and app settings Flex Consumption does not accept; the runtime, the package and scaling live in
``functionAppConfig``), and the ARM error quoted in microsoft/azure-pipelines-tasks#21032. One
such property fails the site PUT and stops ``azd up``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.bicep_text import INFRA, REPO, bicep_files
from tests.infra.rules import FLEX_REJECTED_APP_SETTINGS, FLEX_REJECTED_SITE_PROPERTIES, flex_problems

SITE = """resource site 'Microsoft.Web/sites@2024-04-01' = {
  // ftpsState: 'Disabled' would be refused  (a comment: not a property)
  name: 'x'
  properties: {
    siteConfig: {
      minTlsVersion: '1.2'
      %s
    }
  }
}
"""


def _problems(tmp_path: Path, line: str) -> list[str]:
    path = tmp_path / "site.bicep"
    path.write_text(SITE % line)
    return flex_problems([path])


def test_no_bicep_file_sets_a_property_flex_consumption_rejects() -> None:
    assert flex_problems(bicep_files()) == []


@pytest.mark.parametrize("name", FLEX_REJECTED_SITE_PROPERTIES)
def test_a_rejected_site_property_is_found(tmp_path: Path, name: str) -> None:
    problems = _problems(tmp_path, f"{name}: 'x'")
    assert len(problems) == 1 and f"site.bicep:7: {name} is rejected" in problems[0]


@pytest.mark.parametrize("name", FLEX_REJECTED_APP_SETTINGS)
@pytest.mark.parametrize(
    "form", ["{name}: 'x'", "'{name}': 'x'", "appSettings: [{{ name: '{name}', value: 'x' }}]"]
)
def test_a_rejected_app_setting_is_found_in_every_form(tmp_path: Path, name: str, form: str) -> None:
    assert len(_problems(tmp_path, form.format(name=name))) == 1


def test_always_on_is_refused_unless_false(tmp_path: Path) -> None:
    assert len(_problems(tmp_path, "alwaysOn: true")) == 1
    assert len(_problems(tmp_path, "alwaysOn: alwaysOnParam")) == 1
    assert _problems(tmp_path, "alwaysOn: false") == []


def test_names_in_comments_and_descriptions_are_not_properties(tmp_path: Path) -> None:
    assert _problems(tmp_path, "// FUNCTIONS_WORKER_RUNTIME: 'python'") == []
    path = tmp_path / "params.bicep"
    path.write_text("@description('no FUNCTIONS_WORKER_RUNTIME or ftpsState here')\nparam x string\n")
    assert flex_problems([path]) == []


def test_the_rules_command_fails_on_a_rejected_property(tmp_path: Path) -> None:
    # The command infra/check.sh runs, pointed at a copy of the repository with ftpsState added.
    root = tmp_path / "repo"
    for path in [
        *INFRA.rglob("*"),
        REPO / "deployer.yaml",
        REPO / "function_app.py",
        *REPO.glob("deployer/**/*.py"),
    ]:
        if path.is_file():
            target = root / path.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    command = [sys.executable, "-m", "tests.infra.rules", "--root", str(root)]
    clean = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stderr
    site = root / "infra" / "app" / "deployer.bicep"
    site.write_text(
        site.read_text().replace("minTlsVersion: '1.2'", "minTlsVersion: '1.2'\n      ftpsState: 'Disabled'")
    )
    broken = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    assert broken.returncode == 1
    assert "ftpsState is rejected by Flex Consumption" in broken.stderr


def test_check_sh_runs_the_rules() -> None:
    assert "-m tests.infra.rules" in (INFRA / "check.sh").read_text()
