#!/usr/bin/env bash
# Runs after `azd provision` (and in `azd up`); safe to run by hand from the repo root, and
# idempotent. Two steps:
#
# 1. Deploys infra/external.bicep: what the deployer needs outside its own resource group (the
#    registry's Event Grid system topic, Azure AI Project Manager on the Foundry project, image
#    read on the registry for the app identity and optional image pull for the project's, the
#    system topic's dead-letter role). It is a separate
#    deployment, not part of main.bicep, because `azd down` deletes every resource group the azd
#    deployment touched (Azure/azure-dev#2916); see infra/README.md.
#
# 2. Creates the webhook signing secrets that Key Vault does not hold yet, so the Function App's
#    Key Vault references (one per WEBHOOK_SECRET_SETTING_NAMES entry) resolve. Never overwrites
#    an existing secret: to set a value shared with a receiver, use `az keyvault secret set`.
#    New secrets follow Standard Webhooks: "whsec_" + base64 of 32 random bytes. This needs Key
#    Vault Secrets Officer on the vault, which main.bicep grants to the principal running azd (it
#    can take a minute or two to apply, hence the retries).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=scripts/common.sh
. "$here/common.sh"

load_azd_env
require_vars AZURE_LOCATION AZURE_RESOURCE_GROUP AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID \
  AZURE_STORAGE_ACCOUNT_NAME DEADLETTER_CONTAINER_NAME AZURE_KEY_VAULT_NAME \
  REGISTRY_NAME REGISTRY_RESOURCE_GROUP REGISTRY_EVENTS_TOPIC_NAME \
  FOUNDRY_RESOURCE_GROUP FOUNDRY_ACCOUNT_NAME FOUNDRY_PROJECT_NAME
require_az

# ---- 1. resources outside the deployer's resource group ---------------------------------------
grant_pull="$(printf '%s' "${GRANT_PROJECT_REGISTRY_PULL:-false}" | tr '[:upper:]' '[:lower:]')"
case "$grant_pull" in true | false) ;; *) die "GRANT_PROJECT_REGISTRY_PULL must be true or false" ;; esac
grant_app_pull="$(printf '%s' "${GRANT_DEPLOYER_REGISTRY_PULL:-true}" | tr '[:upper:]' '[:lower:]')"
case "$grant_app_pull" in true | false) ;; *) die "GRANT_DEPLOYER_REGISTRY_PULL must be true or false" ;; esac
env_name="$(printf '%s' "${AZURE_ENV_NAME:-manual}" | tr -c 'A-Za-z0-9-' '-' | cut -c1-30)"

log "deploying infra/external.bicep (system topic $REGISTRY_EVENTS_TOPIC_NAME, Foundry project role, dead-letter role)"
attempt=1
until az deployment sub create \
  --location "$AZURE_LOCATION" \
  --name "agent-deployer-external-$env_name" \
  --template-file "$root/infra/external.bicep" \
  --parameters \
    appResourceGroupName="$AZURE_RESOURCE_GROUP" \
    appPrincipalId="$AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID" \
    storageAccountName="$AZURE_STORAGE_ACCOUNT_NAME" \
    deadLetterContainerName="$DEADLETTER_CONTAINER_NAME" \
    registryName="$REGISTRY_NAME" \
    registryResourceGroupName="$REGISTRY_RESOURCE_GROUP" \
    systemTopicName="$REGISTRY_EVENTS_TOPIC_NAME" \
    foundryResourceGroupName="$FOUNDRY_RESOURCE_GROUP" \
    foundryAccountName="$FOUNDRY_ACCOUNT_NAME" \
    foundryProjectName="$FOUNDRY_PROJECT_NAME" \
    projectManagerRoleId="${AZURE_AI_PROJECT_MANAGER_ROLE_ID:-eadc314b-1a2d-4efa-be10-5d325db5065e}" \
    grantProjectRegistryPull="$grant_pull" \
    projectRegistryPullRole="${PROJECT_REGISTRY_PULL_ROLE:-ContainerRegistryRepositoryReader}" \
    grantDeployerRegistryPull="$grant_app_pull" \
    deployerRegistryPullRole="${DEPLOYER_REGISTRY_PULL_ROLE:-AcrPull}" \
    tags='{"managed-by":"agent-deployer"}' \
  --only-show-errors -o none; do
  if [ "$attempt" -ge 3 ]; then
    die "infra/external.bicep failed $attempt times; check your roles on the registry's and the Foundry project's resource groups (infra/README.md, Prerequisites), then run ./scripts/post-provision.sh again"
  fi
  attempt=$((attempt + 1))
  log "retrying in 30 s (attempt $attempt of 3; a new identity can take a moment to replicate)"
  sleep 30
done

# ---- 2. webhook secrets -----------------------------------------------------------------------
if [ -z "${WEBHOOK_SECRET_SETTING_NAMES:-}" ]; then
  log "no webhook secret settings configured; nothing more to do"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"

ensure_secret() {
  local setting="$1" secret attempt
  secret="$(printf '%s' "$setting" | tr '[:upper:]_' '[:lower:]-')"
  [[ "$secret" =~ ^[a-z0-9-]{1,127}$ ]] || die "setting $setting does not map to a valid secret name ($secret)"
  for attempt in $(seq 1 18); do
    if az keyvault secret show --vault-name "$AZURE_KEY_VAULT_NAME" --name "$secret" \
      --query id -o tsv --only-show-errors >/dev/null 2>"$tmp/err"; then
      log "$setting: secret $secret exists, kept"
      return 0
    fi
    if grep -q "SecretNotFound" "$tmp/err"; then
      (umask 077 && printf 'whsec_%s' "$(head -c 32 /dev/urandom | base64 | tr -d '\n')" >"$tmp/value")
      az keyvault secret set --vault-name "$AZURE_KEY_VAULT_NAME" --name "$secret" \
        --file "$tmp/value" --encoding utf-8 --content-type "standard-webhooks signing secret" \
        --only-show-errors -o none
      rm -f "$tmp/value"
      log "$setting: created secret $secret (to share it with the receiver: az keyvault secret show --vault-name $AZURE_KEY_VAULT_NAME -n $secret --query value -o tsv)"
      return 0
    fi
    # Most likely Forbidden while the Secrets Officer role assignment propagates.
    log "$setting: Key Vault not ready for this principal yet (attempt $attempt of 18): $(head -c 200 "$tmp/err" | tr '\n' ' ')"
    sleep 10
  done
  die "could not read or create secret $secret in $AZURE_KEY_VAULT_NAME; you need Key Vault Secrets Officer on it (see infra/README.md)"
}

IFS=',' read -r -a settings <<<"$WEBHOOK_SECRET_SETTING_NAMES"
for setting in "${settings[@]}"; do
  setting="$(printf '%s' "$setting" | tr -d '[:space:]')"
  [ -n "$setting" ] || continue
  ensure_secret "$setting"
done
