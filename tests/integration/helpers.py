"""Shared helpers of the integration tests: the installed CLI (``.venv/bin/agent-deployer``, what
``make setup`` installs) run as a subprocess, and an Easy Auth principal."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "agent-deployer"


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEPLOYER_URL", "DEPLOYER_KEY")}
    return subprocess.run(
        [str(CLI), *argv],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**clean, **(env or {})},
        timeout=120,
    )


def principal(*roles: str) -> str:
    claims = [{"typ": "preferred_username", "val": "ana@example.com"}]
    claims += [{"typ": "roles", "val": role} for role in roles]
    return base64.b64encode(json.dumps({"auth_typ": "aad", "claims": claims}).encode()).decode()
