#!/usr/bin/env bash
# Offline checks of the infrastructure code. Needs python3 (with venv) and PyPI, nothing else:
#   1. prepares .venv-infra from infra/requirements-infra.txt (only when missing or changed);
#   2. every .bicep file under infra/ parses with pycep-parser;
#   3. checkov scans infra/ (Bicep, ARM, secrets): a failed check fails the run; a check that does
#      not apply is skipped in place with a `// checkov:skip=CKV_...: reason` comment;
#   4. the JSON files under infra/ are valid JSON;
#   5. shellcheck passes on the azd hook scripts and on this file;
#   6. the project rules (tests/infra/rules.py): no property Flex Consumption rejects, and the app
#      settings the code reads, the Bicep sets and the deployed config refers to agree.
# Exit status: 0 when everything passed, 1 otherwise (every step runs either way).
#
# It does not run `az bicep build`: that needs the Bicep CLI and the public module registry
# (mcr.microsoft.com) for the br/public:avm/... modules, neither of which is reachable offline.
#
# Environment: INFRA_VENV (default <repo>/.venv-infra), PYTHON (default python3).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${INFRA_VENV:-$root/.venv-infra}"
python="${PYTHON:-python3}"
requirements="$root/infra/requirements-infra.txt"
stamp="$venv/.requirements-infra.sha256"

say() { printf '%s\n' "check.sh: $*" >&2; }

# ---- 1. tools -------------------------------------------------------------------------------
wanted="$("$python" - "$requirements" <<'EOF'
import hashlib, sys
with open(sys.argv[1], "rb") as f:
    print(hashlib.sha256(f.read() + sys.version.encode()).hexdigest())
EOF
)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  say "installing the pinned tools into ${venv#"$root"/} (first run or requirements changed)"
  log="$(mktemp)"
  if [ -x "$venv/bin/python" ] && [ "$("$venv/bin/python" -c 'import sys; print(sys.version)')" = "$("$python" -c 'import sys; print(sys.version)')" ]; then
    : # same interpreter: update the packages in place
  elif ! "$python" -m venv --clear "$venv" >"$log" 2>&1; then
    cat "$log" >&2
    say "could not create a virtualenv with $python (Debian/Ubuntu: apt-get install python3-venv)"
    exit 1
  fi
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements" >"$log" 2>&1; then
    cat "$log" >&2
    say "pip install -r infra/requirements-infra.txt failed"
    exit 1
  fi
  rm -f "$log"
  printf '%s\n' "$wanted" >"$stamp"
fi

failed=0
step() { say "$1"; }
fail() { say "FAILED: $1"; failed=1; }

cd "$root"

# ---- 2. every .bicep file parses --------------------------------------------------------------
step "parsing Bicep files (pycep-parser)"
if ! "$venv/bin/python" - infra <<'EOF'
import sys
from pathlib import Path

from pycep import BicepParser

parser = BicepParser()
files = sorted(Path(sys.argv[1]).rglob("*.bicep"))
errors = 0
for path in files:
    try:
        parser.parse(file_path=path)
    except Exception as exc:  # noqa: BLE001 - report every file, whatever the parser raised
        errors += 1
        first_lines = "\n    ".join(str(exc).splitlines()[:2])
        print(f"{path}: {type(exc).__name__}: {first_lines}", file=sys.stderr)
print(f"check.sh: parsed {len(files) - errors}/{len(files)} Bicep files", file=sys.stderr)
sys.exit(1 if errors or not files else 0)
EOF
then
  fail "a Bicep file does not parse"
fi

# ---- 3. checkov ---------------------------------------------------------------------------------
step "checkov (bicep, arm, secrets)"
# --skip-download: no policy metadata from the vendor's platform (offline, and not needed).
report="$(mktemp)"
"$venv/bin/checkov" --directory infra --framework bicep arm secrets --skip-download \
  --output json >"$report" 2>/dev/null || true
if ! "$venv/bin/python" - "$report" <<'EOF'
import json, sys

with open(sys.argv[1]) as f:
    text = f.read()
try:
    data = json.loads(text)
except ValueError:
    print(text, file=sys.stderr)
    print("check.sh: checkov did not produce a JSON report", file=sys.stderr)
    sys.exit(1)
bad = 0
for report in data if isinstance(data, list) else [data]:
    summary = report.get("summary", report)
    print(
        f"check.sh: checkov {report.get('check_type', 'all')}: {summary.get('passed', 0)} passed, "
        f"{summary.get('failed', 0)} failed, {summary.get('skipped', 0)} skipped, "
        f"{summary.get('parsing_errors', 0)} parsing errors",
        file=sys.stderr,
    )
    bad += summary.get("failed", 0) + summary.get("parsing_errors", 0)
    results = report.get("results", {})
    for check in results.get("failed_checks", []):
        lines = "-".join(str(n) for n in check.get("file_line_range", []))
        print(f"  FAILED {check['check_id']} {check['check_name']}\n"
              f"         {check['resource']} in infra{check['file_path']}:{lines}", file=sys.stderr)
    for check in results.get("skipped_checks", []):
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        print(f"  skipped {check['check_id']} on {check['resource']}: {reason}", file=sys.stderr)
    for path in results.get("parsing_errors", []):
        print(f"  PARSING ERROR {path}", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
then
  fail "checkov reported failed checks (fix them, or skip in place with a reason)"
fi
rm -f "$report"

# ---- 4. JSON ----------------------------------------------------------------------------------
step "JSON files"
if ! "$venv/bin/python" - infra <<'EOF'
import json, sys
from pathlib import Path

bad = 0
for path in sorted(Path(sys.argv[1]).rglob("*.json")):
    try:
        json.loads(path.read_text())
    except ValueError as exc:
        bad += 1
        print(f"{path}: {exc}", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
then
  fail "invalid JSON under infra/"
fi

# ---- 5. shellcheck ----------------------------------------------------------------------------
step "shellcheck (scripts/, infra/check.sh)"
if ! "$venv/bin/shellcheck" -x scripts/*.sh infra/check.sh; then
  fail "shellcheck"
fi

# ---- 6. project rules -------------------------------------------------------------------------
step "project rules (tests/infra/rules.py: Flex Consumption, app settings)"
if ! "$venv/bin/python" -m tests.infra.rules; then
  fail "project rules"
fi

if [ "$failed" -ne 0 ]; then
  say "infrastructure checks FAILED"
  exit 1
fi
say "infrastructure checks passed"
