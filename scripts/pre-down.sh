#!/usr/bin/env bash
# Runs before `azd down` deletes the deployer's resource group (azd predown hook); safe to run by
# hand from the repo root, and idempotent. Deletes this environment's Event Grid subscription
# (EVENTGRID_SUBSCRIPTION_NAME) from the registry's system topic: it lives in the registry's
# resource group, which `azd down` leaves alone, and would otherwise go on delivering pushes to a
# function that no longer exists. The system topic stays: other environments may share it, and it
# may have been there before (infra/README.md, "Tearing down").
#
# An environment that never got as far as a subscription (no values yet, or the topic or the
# subscription already gone) is not an error; any other failure stops `azd down`.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/common.sh
. "$here/common.sh"

load_azd_env
for name in REGISTRY_RESOURCE_GROUP REGISTRY_EVENTS_TOPIC_NAME EVENTGRID_SUBSCRIPTION_NAME; do
  if [ -z "${!name:-}" ]; then
    log "$name is not set: this environment made no Event Grid subscription; nothing to remove"
    exit 0
  fi
done
require_az

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
subscription=(--resource-group "$REGISTRY_RESOURCE_GROUP" --system-topic-name "$REGISTRY_EVENTS_TOPIC_NAME"
  --name "$EVENTGRID_SUBSCRIPTION_NAME" --only-show-errors)

if ! az eventgrid system-topic event-subscription show "${subscription[@]}" --query id -o tsv >/dev/null 2>"$tmp"; then
  if grep -q "NotFound" "$tmp"; then
    log "Event Grid subscription $EVENTGRID_SUBSCRIPTION_NAME is not on $REGISTRY_EVENTS_TOPIC_NAME; nothing to remove"
    exit 0
  fi
  die "cannot read Event Grid subscription $EVENTGRID_SUBSCRIPTION_NAME: $(head -c 300 "$tmp" | tr '\n' ' ')"
fi
log "deleting Event Grid subscription $EVENTGRID_SUBSCRIPTION_NAME from $REGISTRY_EVENTS_TOPIC_NAME ($REGISTRY_RESOURCE_GROUP)"
az eventgrid system-topic event-subscription delete "${subscription[@]}" --yes -o none
log "Event Grid subscription $EVENTGRID_SUBSCRIPTION_NAME deleted"
