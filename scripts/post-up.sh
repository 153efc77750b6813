#!/usr/bin/env bash
# Runs as the azd postdeploy hook (azd deploy / azd up); it can also be run by hand from the repo
# root at any time, and is idempotent. Two steps:
#
# 1. `agent-deployer config check` on the deployed config (DEPLOYER_CONFIG) with the deployed app's
#    settings (scripts/check_deployed_config.py): the ${NAME} references resolve and the file is
#    valid, as the app will load it. An invalid config stops here, before any event is delivered.
#    Needs the project's Python environment (`make setup`), or DEPLOYER_PYTHON naming one.
#
# 2. Creates or updates this environment's Event Grid subscription (EVENTGRID_SUBSCRIPTION_NAME,
#    one per azd environment) from the registry's system topic to the `on_image_pushed` function:
#    AzureFunction destination, ImagePushed only, retry policy, and dead-lettering to the storage
#    account's eventgrid-deadletter container. scripts/pre-down.sh deletes it on `azd down`.
#
# Why after the deploy: Event Grid validates an AzureFunction destination against the function,
# which exists only once the code is deployed and indexed (Azure/bicep#11656).
#
# Optional: DEPLOYER_REPOSITORIES=agents/a,agents/b limits delivery to those repositories
# (exact names, at most 25); unset, every push is delivered and the deployer ignores repositories
# its config does not list. Set it with `azd env set DEPLOYER_REPOSITORIES ...`.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=scripts/common.sh
. "$here/common.sh"

load_azd_env
require_vars AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME AZURE_FUNCTION_APP_ID \
  AZURE_STORAGE_ACCOUNT_ID DEADLETTER_CONTAINER_NAME REGISTRY_RESOURCE_GROUP REGISTRY_EVENTS_TOPIC_NAME \
  EVENTGRID_SUBSCRIPTION_NAME

function_name="${EVENTGRID_FUNCTION_NAME:-on_image_pushed}"
function_id="$AZURE_FUNCTION_APP_ID/functions/$function_name"
wait_seconds="${EVENTGRID_WAIT_SECONDS:-300}"

# Repositories as a JSON array for the template parameter.
repositories_json="[]"
if [ -n "${DEPLOYER_REPOSITORIES:-}" ]; then
  items=()
  IFS=',' read -r -a raw <<<"$DEPLOYER_REPOSITORIES"
  for repo in "${raw[@]}"; do
    repo="$(printf '%s' "$repo" | tr -d '[:space:]')"
    [ -n "$repo" ] || continue
    [[ "$repo" =~ ^[a-z0-9]+([._/-][a-z0-9]+)*$ ]] || die "not a repository name: '$repo'"
    items+=("\"$repo\"")
  done
  [ "${#items[@]}" -le 25 ] || die "DEPLOYER_REPOSITORIES lists ${#items[@]} repositories; an Event Grid filter takes at most 25 (leave it empty to receive all)"
  repositories_json="[$(IFS=','; printf '%s' "${items[*]}")]"
fi

require_az
python="$(project_python)"

# 1. The deployed config, checked with the deployed app's settings.
log "checking the deployed config with the settings of $AZURE_FUNCTION_APP_NAME (agent-deployer config check)"
if ! az functionapp config appsettings list --resource-group "$AZURE_RESOURCE_GROUP" \
  --name "$AZURE_FUNCTION_APP_NAME" -o json --only-show-errors | "$python" "$here/check_deployed_config.py"; then
  die "the deployed config is not valid with the app's settings (above); fix deployer.yaml or the settings (azd env set ..., azd provision), then azd deploy"
fi

# 2. Wait until the platform lists the function (Flex indexes it when the host starts after a deploy).
if [ -n "${DEPLOYER_URL:-}" ] && command -v curl >/dev/null 2>&1; then
  curl -s -o /dev/null --max-time 30 "$DEPLOYER_URL/" || true # wakes a scaled-to-zero app
fi
log "waiting for function $function_name in $AZURE_FUNCTION_APP_NAME (up to ${wait_seconds}s)"
deadline=$((SECONDS + wait_seconds))
until az functionapp function show --resource-group "$AZURE_RESOURCE_GROUP" --name "$AZURE_FUNCTION_APP_NAME" \
  --function-name "$function_name" --query id -o tsv --only-show-errors >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "function $function_name is not listed in $AZURE_FUNCTION_APP_NAME; check the deploy ('azd deploy') and the app's logs, then run ./scripts/post-up.sh again (see infra/README.md)"
  fi
  sleep 10
done

# 3. Deploy the subscription (retried: the function can be listed shortly before Event Grid sees it).
deployment_name="agent-deployer-eventgrid-$(printf '%s' "${AZURE_ENV_NAME:-manual}" | tr -c 'A-Za-z0-9-' '-' | cut -c1-30)"
log "deploying Event Grid subscription $EVENTGRID_SUBSCRIPTION_NAME on system topic $REGISTRY_EVENTS_TOPIC_NAME ($REGISTRY_RESOURCE_GROUP), repositories: $repositories_json"
attempt=1
until az deployment group create \
  --resource-group "$REGISTRY_RESOURCE_GROUP" \
  --name "$deployment_name" \
  --template-file "$root/infra/app/eventgrid-subscription.bicep" \
  --parameters \
    systemTopicName="$REGISTRY_EVENTS_TOPIC_NAME" \
    subscriptionName="$EVENTGRID_SUBSCRIPTION_NAME" \
    functionResourceId="$function_id" \
    deadLetterStorageAccountId="$AZURE_STORAGE_ACCOUNT_ID" \
    deadLetterContainerName="$DEADLETTER_CONTAINER_NAME" \
    repositories="$repositories_json" \
  --only-show-errors -o none; do
  if [ "$attempt" -ge 5 ]; then
    die "could not create the Event Grid subscription after $attempt attempts; see infra/README.md (\"Event Grid subscription by hand\")"
  fi
  attempt=$((attempt + 1))
  log "retrying in 30 s (attempt $attempt of 5)"
  sleep 30
done

log "Event Grid subscription $EVENTGRID_SUBSCRIPTION_NAME ready: $REGISTRY_EVENTS_TOPIC_NAME -> $function_name (dead letters: $DEADLETTER_CONTAINER_NAME)"
if [ -n "${DEPLOYER_URL:-}" ]; then
  log "list deployments: agent-deployer --url $DEPLOYER_URL --key \"\$(az functionapp keys list -g $AZURE_RESOURCE_GROUP -n $AZURE_FUNCTION_APP_NAME --query functionKeys.default -o tsv)\" list"
fi
