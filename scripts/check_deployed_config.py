"""Run ``agent-deployer config check`` on the deployed config with the deployed app's settings.

Used by scripts/post-up.sh (azd postdeploy). Reads the Function App's app settings as
``az functionapp config appsettings list -o json`` prints them, on stdin. The check sees what
the app sees: those settings only (not the azd environment), with each Key Vault reference
the config refers to replaced by its secret, read with ``az keyvault secret show`` as the person
running azd (who holds Key Vault Secrets Officer), because the app gets the secret's value, not
the reference. The
config file is DEPLOYER_CONFIG from those settings, relative to the repository root, as it is
relative to the package root in Azure. Secret values go to the checking process only: never to a
command line, the output, or a file.

Exit status: that of ``config check`` (0 when the config is valid), 2 when a secret cannot be read.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Variables the checking process keeps from this one: what Python and TLS need, no app setting.
KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\((?P<args>[^)]*)\)$")
_CONFIG_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # what the config expands


class SecretError(Exception):
    """A Key Vault reference could not be read."""


def secret_command(reference: str) -> list[str] | None:
    """The ``az`` command that prints the secret ``reference`` points to; ``None`` if the value
    is not a Key Vault reference. Both documented forms: ``SecretUri=...`` and
    ``VaultName=...;SecretName=...[;SecretVersion=...]``."""
    match = _REFERENCE.match(reference.strip())
    if match is None:
        return None
    parts = dict(p.split("=", 1) for p in match["args"].split(";") if "=" in p)
    show = ["az", "keyvault", "secret", "show", "--query", "value", "-o", "tsv", "--only-show-errors"]
    if "SecretUri" in parts:
        return [*show, "--id", parts["SecretUri"]]
    if "VaultName" in parts and "SecretName" in parts:
        version = ["--version", parts["SecretVersion"]] if parts.get("SecretVersion") else []
        return [*show, "--vault-name", parts["VaultName"], "--name", parts["SecretName"], *version]
    raise SecretError(f"unreadable Key Vault reference: {reference}")


def resolve(name: str, value: str) -> str:
    command = secret_command(value)
    if command is None:
        return value
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SecretError(f"{name}: cannot read {value}: {done.stderr.strip()[:300]}")
    return done.stdout.rstrip("\n")


def main() -> int:
    settings = {item["name"]: item.get("value") or "" for item in json.load(sys.stdin)}
    config = ROOT / (settings.get("DEPLOYER_CONFIG") or "deployer.yaml")
    # Only the secrets the config refers to are read (the file may not exist: config check says so).
    used = set(_CONFIG_REF.findall(config.read_text())) if config.is_file() else set()
    try:
        settings |= {name: resolve(name, settings[name]) for name in sorted(used & settings.keys())}
    except SecretError as exc:
        print(
            f"config check not run: {exc} (you need Key Vault Secrets Officer or User on the vault)",
            file=sys.stderr,
        )
        return 2
    env = {name: os.environ[name] for name in KEPT if name in os.environ} | settings
    command = [sys.executable, "-m", "deployer", "config", "check", str(config)]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
