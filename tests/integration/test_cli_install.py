"""The CLI installed the way its users install it (``pipx install .`` is a fresh virtual environment
and a non-editable install of the project: the same is done here with venv and pip) on each
Python from 3.10 to 3.13 that this machine has; the others are skipped, and say so."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MINORS = (10, 11, 12, 13)


def interpreter(minor: int) -> str | None:
    """``python3.<minor>`` on PATH if it runs, else one that pyenv installed."""
    name = f"python3.{minor}"
    found = shutil.which(name)
    if found and subprocess.run([found, "-c", ""], capture_output=True, check=False).returncode == 0:
        return found
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    installed = sorted(pyenv.glob(f"3.{minor}.*/bin/{name}"))
    return str(installed[-1]) if installed else None


@pytest.mark.parametrize("minor", MINORS, ids=[f"python3.{m}" for m in MINORS])
def test_a_fresh_install_runs_config_check_and_explain(minor, tmp_path):
    python = interpreter(minor)
    if python is None:
        pytest.skip(f"python3.{minor} is not installed on this machine")
    env = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(env)], check=True)
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, str(project_copy(tmp_path))], check=True, capture_output=True, timeout=170)
    cli = str(env / "bin" / "agent-deployer")
    config = str(ROOT / "tests" / "integration" / "deployer.test.yaml")
    checked = run(cli, "config", "check", config)
    assert checked.returncode == 0 and ": ok (" in checked.stdout, checked.stderr
    explained = run(cli, "config", "explain", "myregistry.azurecr.io/agents/cli-bot:1.2.0", "--file", config)
    assert explained.returncode == 0 and "  cli-bot: deploy" in explained.stdout, explained.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("registries: [a.azurecr.io]\nagents:\n  - name: bot\n    repositry: agents/bot\n")
    refused = run(cli, "config", "check", str(bad))
    assert refused.returncode == 1
    assert f"{bad}:4:5: agents[0].repositry: unknown field (did you mean 'repository'?)" in refused.stderr


def project_copy(tmp_path: Path) -> Path:
    """What a clone holds for the build (pip builds in the tree it is given and leaves build/ there)."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "deployer", copy / "deployer", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    return copy


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, cwd="/")
