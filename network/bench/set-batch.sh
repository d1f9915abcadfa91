#!/usr/bin/env bash
# Benchmark tool (not used by the stack): changes the running channel's block cutting, so that a
# before/after CPU-per-transaction comparison can alternate settings on one network instead of
# wiping and re-deploying it for each (bench/RESULTS.md, issue 18 point 3).
#
#   bash network/bench/set-batch.sh BATCH_TIMEOUT [MAX_MESSAGE_COUNT [PREFERRED_MAX_BYTES]]
#   e.g. set-batch.sh 500ms 500 2097152
#
# The Orderer group's values are governed by the orderer org's Admins, so the orderer admin signs
# and submits the update.
set -euo pipefail
here=$(cd "$(dirname "$0")/../../scripts" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/channel-config.sh
source "$here/channel-config.sh"

timeout=${1:?usage: set-batch.sh BATCH_TIMEOUT [MAX_MESSAGE_COUNT [PREFERRED_MAX_BYTES]]}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch_channel_config regulator "$work/config.json"
jq --arg t "$timeout" --arg n "${2:-}" --arg b "${3:-}" '
  .channel_group.groups.Orderer.values.BatchTimeout.value.timeout = $t
  | if $n == "" then . else .channel_group.groups.Orderer.values.BatchSize.value.max_message_count = ($n | tonumber) end
  | if $b == "" then . else .channel_group.groups.Orderer.values.BatchSize.value.preferred_max_bytes = ($b | tonumber) end
' "$work/config.json" >"$work/updated.json"
config_update_envelope "$work/config.json" "$work/updated.json" "$work/update.pb"
(
  export FABRIC_CFG_PATH="$LEDGER_RUN_DIR/peers/regulator" CORE_PEER_LOCALMSPID=OrdererMSP CORE_PEER_TLS_ENABLED=true
  export CORE_PEER_MSPCONFIGPATH="$orderer_org_dir/users/Admin@orderer.ledger.local/msp"
  # shellcheck disable=SC2046
  peer channel update -f "$work/update.pb" -c "$LEDGER_CHANNEL" $(orderer_cli_args) >>"$log_dir/cli.log" 2>&1
) || { tail -n 5 "$log_dir/cli.log" >&2; die "the orderer admin could not submit the batch settings"; }
fetch_channel_config regulator "$work/after.json"
log "batch settings now: $(jq -c '.channel_group.groups.Orderer.values | {timeout: .BatchTimeout.value.timeout, size: .BatchSize.value}' "$work/after.json")"
