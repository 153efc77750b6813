# shellcheck shell=bash
# Shared by the azd hooks in this folder (sourced, not run).
#
# azd runs hooks with the environment's values (the Bicep outputs, AZURE_SUBSCRIPTION_ID, ...)
# already exported. Run by hand, the scripts read them with `azd env get-values`; anything
# already exported wins, so `FOO=bar ./scripts/post-up.sh` overrides a value.

log() { printf '%s\n' "[$(basename "$0")] $*" >&2; }
die() { log "error: $*"; exit 1; }

load_azd_env() {
  command -v azd >/dev/null 2>&1 || return 0
  local values line key value
  values="$(azd env get-values 2>/dev/null)" || return 0
  while IFS= read -r line; do
    case "$line" in *=*) ;; *) continue ;; esac
    key="${line%%=*}"
    value="${line#*=}"
    value="${value#\"}"
    value="${value%\"}"
    [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    if [ -z "${!key+set}" ]; then
      export "$key=$value"
    fi
  done <<<"$values"
}

require_vars() {
  local missing=() name
  for name in "$@"; do
    [ -n "${!name:-}" ] || missing+=("$name")
  done
  [ "${#missing[@]}" -eq 0 ] || die "missing values: ${missing[*]} (run 'azd provision' first, or export them)"
}

require_az() {
  command -v az >/dev/null 2>&1 || die "the Azure CLI (az) is needed: https://aka.ms/azure-cli"
  az account show --only-show-errors -o none 2>/dev/null || die "az is not signed in: run 'az login' (same tenant as 'azd auth login')"
  if [ -n "${AZURE_SUBSCRIPTION_ID:-}" ]; then
    az account set --subscription "$AZURE_SUBSCRIPTION_ID" --only-show-errors \
      || die "cannot select subscription $AZURE_SUBSCRIPTION_ID with az"
  fi
}

# The Python that runs the project's CLI (config check): DEPLOYER_PYTHON, else the project's
# .venv (made by `make setup`), else python3; it must have the project's requirements.
project_python() {
  local root candidate
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  candidate="${DEPLOYER_PYTHON:-}"
  if [ -z "$candidate" ]; then
    if [ -x "$root/.venv/bin/python" ]; then candidate="$root/.venv/bin/python"; else candidate="python3"; fi
  fi
  "$candidate" -c 'import yaml' >/dev/null 2>&1 \
    || die "$candidate cannot run the deployer CLI; run 'make setup' (or pip install -r requirements.txt), or set DEPLOYER_PYTHON to a Python 3.11 that has the project's requirements"
  printf '%s\n' "$candidate"
}
