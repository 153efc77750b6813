"""Project rules for the infrastructure code, run by ``infra/check.sh`` and by ``tests/infra``.

Stdlib and PyYAML only, so ``check.sh`` runs it with its own ``.venv-infra`` interpreter:

    python -m tests.infra.rules            # from the repository root; exit 1 and one line a problem

1. **Flex Consumption**: no Bicep file sets a site property or app setting that the Flex
   Consumption plan rejects. Source: Microsoft Learn, "Flex Consumption plan deprecations"
   (azure-functions/functions-app-settings and flex-consumption-plan); the ARM error for such a PUT
   is quoted in microsoft/azure-pipelines-tasks#21032. One of them fails the site PUT, and
   ``azd up`` stops there.
2. **App settings**: what the code reads, what the settings lists declare, what the Bicep sets and
   what the deployed config refers to as ``${NAME}`` agree. The code is found by scanning every
   module under ``deployer/`` (and ``function_app.py``) with :mod:`ast`, never by importing it,
   so the rule keeps working when modules move.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.infra.bicep_text import REPO, block_after, mask, without_comments

# ---- 1. Flex Consumption ------------------------------------------------------------------------

#: ``siteConfig`` properties Flex Consumption refuses (the runtime, its version, the bitness and
#: scale monitoring are functionAppConfig's; FTP is off on Flex). ``alwaysOn`` is refused when true.
FLEX_REJECTED_SITE_PROPERTIES = (
    "ftpsState",
    "linuxFxVersion",
    "windowsFxVersion",
    "use32BitWorkerProcess",
    "netFrameworkVersion",
    "functionsRuntimeScaleMonitoringEnabled",
)
#: App settings Flex Consumption refuses: the runtime comes from functionAppConfig, the package
#: from functionAppConfig.deployment, and there is no Azure Files content share.
FLEX_REJECTED_APP_SETTINGS = (
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTOVERVNET",
    "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
)


def flex_problems(files: Iterable[Path]) -> list[str]:
    """Every Flex-rejected property or setting in ``files``, as a key (``ftpsState: ...``,
    ``'WEBSITE_CONTENTSHARE': ...``) or a name-value pair (``name: 'FUNCTIONS_WORKER_RUNTIME'``);
    comments and prose in strings (descriptions) do not count."""
    problems = []
    for path in files:
        text = without_comments(path.read_text())
        code = mask(text)
        found = [
            (match.start(), f"{name} is rejected by Flex Consumption")
            for name in (*FLEX_REJECTED_SITE_PROPERTIES, *FLEX_REJECTED_APP_SETTINGS)
            for source, pattern in (
                (code, rf"(?<![\w.']){name}\s*:"),
                (text, rf"'{name}'\s*:"),
                (text, rf"\bname\s*:\s*'{name}'"),
            )
            for match in re.finditer(pattern, source)
        ]
        found += [
            (match.start(), "alwaysOn is rejected by Flex Consumption (only false is accepted)")
            for match in re.finditer(r"\balwaysOn\s*:(?!\s*false\b)", code)
        ]
        problems += [f"{path}:{text.count(chr(10), 0, at) + 1}: {why}" for at, why in sorted(found)]
    return problems


# ---- 2. App settings ----------------------------------------------------------------------------

#: Set by App Service itself, never by infra.
PLATFORM_SETTINGS = frozenset({"WEBSITE_HOSTNAME", "WEBSITE_AUTH_ENABLED"})
#: Read by the CLI on the operator's machine (``agent-deployer --url/--key``; the terminal's
#: ``NO_COLOR`` and ``TERM``), not by the app.
CLI_SETTINGS = frozenset({"DEPLOYER_URL", "DEPLOYER_KEY", "NO_COLOR", "TERM"})
#: Names of mappings of app settings in the code (``env.get("X")``, ``os.environ["X"]``, ...).
_SETTING_MAPPINGS = frozenset({"env", "environ", "environment", "settings", "app_settings"})
_SETTING_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_CONFIG_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # the form deployer's config expands


@dataclass(frozen=True)
class Layout:
    """Where the rules look; tests point it at a temporary copy."""

    code: tuple[Path, ...]
    infra: Path
    config: Path

    @classmethod
    def repository(cls, root: Path = REPO) -> Layout:
        code = (*sorted((root / "deployer").rglob("*.py")), root / "function_app.py")
        return cls(code=code, infra=root / "infra", config=root / _deployed_config_path(root))


def _deployed_config_path(root: Path) -> str:
    """DEPLOYER_CONFIG as provisioned: the default of DEPLOYER_CONFIG_PATH in main.parameters.json."""
    given = json.loads((root / "infra" / "main.parameters.json").read_text())["parameters"]
    match = re.fullmatch(r"\$\{DEPLOYER_CONFIG_PATH=([^}]*)\}", given["deployerConfigPath"]["value"])
    return match.group(1) if match else "deployer.yaml"


def _is_mapping(node: ast.expr) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name in _SETTING_MAPPINGS


def _constants(nodes: Iterable[ast.expr]) -> Iterator[str]:
    for node in nodes:
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and _SETTING_NAME.fullmatch(node.value):
            yield node.value


def settings_read(tree: ast.AST) -> set[str]:
    """Setting names read in ``tree``: ``m.get("X")``, ``m["X"]``, ``"X" in m``, ``getenv("X")``
    and helpers given the mapping (``_positive_int(env, "X", 8)``), where ``m`` is named like a
    mapping of settings."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("get", "getenv"):
                if func.attr == "getenv" or _is_mapping(func.value):
                    found.update(_constants(node.args[:1]))
            elif any(_is_mapping(arg) for arg in node.args):
                found.update(_constants(node.args))
        elif isinstance(node, ast.Subscript) and _is_mapping(node.value):
            found.update(_constants([node.slice]))
        elif isinstance(node, ast.Compare) and any(_is_mapping(c) for c in node.comparators):
            found.update(_constants([node.left]))
    return found


def declared_list(trees: Iterable[ast.AST], name: str) -> set[str] | None:
    """The string tuple assigned to ``name`` anywhere in the code, or ``None`` if none is."""
    for tree in trees:
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            if isinstance(node, ast.Assign | ast.AnnAssign) and any(
                isinstance(t, ast.Name) and t.id == name for t in targets
            ):
                value = node.value
                if isinstance(value, ast.Tuple | ast.List):
                    return set(_constants(value.elts))
    return None


def bicep_block_keys(path: Path, var: str) -> list[str]:
    return block_after(path.read_text(), rf"^var\s+{var}\s*=").top_level_keys()


def webhook_secret_settings(main: Path) -> list[str]:
    block = block_after(main.read_text(), r"^param\s+webhookSecretSettingNames\s+array\s*=")
    return re.findall(r"'([^']+)'", block.body)


def config_references(config: Path) -> set[str]:
    """The ``${NAME}`` references in the values of the YAML config (comments are not values)."""

    def walk(value: object) -> Iterator[str]:
        if isinstance(value, str):
            yield from _CONFIG_REF.findall(value)
        elif isinstance(value, dict):
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    return set(walk(yaml.safe_load(config.read_text())))


def settings_problems(layout: Layout) -> list[str]:
    """Disagreements between the code, its settings lists, the Bicep and the deployed config."""
    trees = [ast.parse(path.read_text(), str(path)) for path in layout.code]
    read = set().union(*(settings_read(tree) for tree in trees))
    azure = declared_list(trees, "AZURE_SETTINGS")
    local = declared_list(trees, "LOCAL_ONLY_SETTINGS")
    if azure is None or local is None:
        return ["the code declares no AZURE_SETTINGS / LOCAL_ONLY_SETTINGS tuple (deployer/)"]
    site = layout.infra / "app" / "deployer.bicep"
    app_settings = set(bicep_block_keys(site, "appSettings"))
    config_settings = set(bicep_block_keys(site, "configSettings"))
    secrets = set(webhook_secret_settings(layout.infra / "main.bicep"))
    refs = config_references(layout.config)
    problems = [
        f"the code reads {n}, which is in neither AZURE_SETTINGS nor LOCAL_ONLY_SETTINGS"
        for n in sorted(read - azure - local - PLATFORM_SETTINGS - CLI_SETTINGS)
    ]
    problems += [f"AZURE_SETTINGS lists {n}, which the code never reads" for n in sorted(azure - read)]
    problems += [
        f"the code reads {n}, which infra never sets (appSettings)" for n in sorted(azure - app_settings)
    ]
    problems += [f"infra sets {n}, which the code never reads" for n in sorted(app_settings - azure)]
    problems += [
        f"infra sets {n}, which is local only" for n in sorted(local & (app_settings | config_settings))
    ]
    provided = app_settings | config_settings | secrets
    problems += [
        f"{layout.config.name} refers to ${{{n}}}, which infra never sets" for n in sorted(refs - provided)
    ]
    problems += [
        f"infra sets {n} for the config, which {layout.config.name} never refers to"
        for n in sorted(config_settings - refs)
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.infra.rules", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=REPO, help="repository root (default: this one)")
    root = parser.parse_args(argv).root
    layout = Layout.repository(root)
    problems = flex_problems(sorted(layout.infra.rglob("*.bicep"))) + settings_problems(layout)
    for problem in problems:
        print(f"rules: {problem}", file=sys.stderr)
    print(f"rules: {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
