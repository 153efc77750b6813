"""How the CLI is packaged: the console script ``make setup`` installs, its version, what it
imports (the dependencies pyproject declares and nothing of the Function App's), and the Python
versions it is checked on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CLI = Path(sys.executable).parent / "agent-deployer"
#: pydantic and what it brings along.
PYDANTIC = {"pydantic", "pydantic_core", "typing_extensions", "annotated_types", "typing_inspection"}

# Loads every CLI module and the config parser `config check` uses, then names the top-level
# packages that are not in the standard library.
_IMPORTS = """
import sys
import deployer.cli.main, deployer.cli.simulate, deployer.config.parser
from deployer.cli.main import _parser
_parser()
names = {m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)
# Not imports of the CLI: the interpreter's and the installers' import hooks.
print(sorted(n for n in names if not n.startswith('_')))
"""


def test_the_installed_console_script_reports_the_project_version():
    done = subprocess.run([str(CLI), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"agent-deployer {PYPROJECT['project']['version']}"


def test_the_cli_imports_only_the_dependencies_pyproject_declares():
    done = subprocess.run([sys.executable, "-c", _IMPORTS], capture_output=True, text=True, check=True)
    imported = set(json.loads(done.stdout.replace("'", '"')))
    assert imported <= {"deployer", "yaml", *PYDANTIC}
    declared = {re.split(r"[<>=!~ ]", d)[0].lower() for d in PYPROJECT["project"]["dependencies"]}
    assert {"pyyaml", "pydantic"} <= declared
    assert not any(name.startswith("azure") for name in declared)


def test_the_cli_is_type_checked_on_the_oldest_and_newest_python_it_admits():
    bounds = re.fullmatch(r">=3\.(\d+),<3\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert bounds is not None
    oldest, newest = f"3.{bounds[1]}", f"3.{int(bounds[2]) - 1}"
    makefile = (ROOT / "Makefile").read_text()
    for version in (oldest, newest):
        assert f"mypy --python-version {version} -p deployer.cli" in makefile


def test_a_reader_that_stops_early_ends_the_command_without_a_traceback():
    command = [str(CLI), "completion", "zsh"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # long before the command has started up and written anything
        error = process.stderr.read().decode()
    assert process.returncode == 141 and "Traceback" not in error and "BrokenPipeError" not in error
