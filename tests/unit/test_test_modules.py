"""Shared test builders live in helper modules: a test module importing another one would run
that module's tests twice and tie unrelated tests together."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def imported_test_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [n for n in names if n.startswith("tests.") and n.rsplit(".", 1)[-1].startswith("test_")]


def test_no_test_module_imports_another_test_module():
    offenders = {
        str(path.relative_to(TESTS)): found
        for path in sorted(TESTS.rglob("test_*.py"))
        if (found := imported_test_modules(path))
    }
    assert offenders == {}
