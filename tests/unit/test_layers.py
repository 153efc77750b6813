"""The layers of ``deployer/`` hold: `lint-imports` keeps the contracts in pyproject.toml and fails
on a wrong arrow, and only the entry points import ``azure.functions``."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], check=False, cwd=where, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "deployer", tmp_path / "deployer", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def add_import(tree: Path, module: str, statement: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    text = path.read_text()
    head, sep, rest = text.partition("from __future__ import annotations\n")
    path.write_text(head + sep + statement + "\n" + rest)


def test_the_tree_keeps_every_contract(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "contract"),
    [
        ("deployer.domain.rules", "import deployer.config.parser", "Layers"),
        ("deployer.domain.model", "import yaml", "The domain imports the standard library only"),
        ("deployer.deploy.start", "import deployer.adapters.foundry", "Only the composition root"),
        ("deployer.rollout.settle", "import deployer.deploy.promotion", "Layers"),
        ("deployer.notify.outbox", "import azure.core", "never import Azure"),
        ("deployer.cli.base", "import deployer.bootstrap", "The CLI imports"),
        ("deployer.adapters.foundry", "import deployer.config.parser", "Adapters import"),
        ("deployer.domain.hints", "import deployer.domain.transitions", "No import cycles"),
    ],
)
def test_a_wrong_import_breaks_a_contract(tree, module, statement, contract):
    add_import(tree, module, statement)
    result = lint_imports(tree)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout


def test_only_the_entry_points_import_azure_functions():
    importers = set()
    for path in [*ROOT.joinpath("deployer").rglob("*.py"), ROOT / "function_app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if any(n == "azure.functions" or n.startswith("azure.functions.") for n in names):
                importers.add(path.relative_to(ROOT).as_posix())
    assert importers
    assert all(p == "function_app.py" or p.startswith("deployer/entrypoints/") for p in importers), importers
