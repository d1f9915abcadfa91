#!/usr/bin/env bash
# Offboards enterprises added with org-add.sh: `npm run org:remove -- <name> [<name> …]`.
#
#   1. removes their groups from the channel config's Application group, and their names from its
#      Admins, LifecycleEndorsement and Endorsement policies, in one update signed by the regulator's
#      admin and a majority of the enterprises' admins (a leaving org does not sign, unless so many
#      leave at once that the staying ones are no majority);
#   2. commits one new chaincode definition whose endorsement policy no longer names them;
#   3. stops their chaincode servers, peers and CAs, and their gateways and mirrors if scripts/stack.sh runs them.
#
# From the next block on, the channel refuses their members' proposals and their peers' endorsements,
# and no one can write their records any more (their key-level policies need their peers). Their
# history stays: their blocks and transactions remain in every peer's ledger, and the verifier checks
# them against the config blocks in force when they were written, which still hold their MSPs. Their
# crypto material, ledger copies and registry entries (status removed) stay in the run directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/channel-config.sh
source "$here/channel-config.sh"

[ $# -ge 1 ] || die "usage: org-remove.sh <name> [<name> …] (orgs added with org-add.sh)"
names=("$@")
for name in "${names[@]}"; do
  case $name in enterprise | regulator) die "$name is a founding org of the channel; only orgs added with org-add.sh are offboarded" ;; esac
  [ -f "$orgs_dir/$name.env" ] || die "$name was never added (no $orgs_dir/$name.env)"
  [ "$(org_var "$name" STATUS)" = removed ] && die "$name is already offboarded"
done

exec 8>"$orgs_dir/.membership.lock"
flock -w 600 8 || die "another org-add or org-remove holds $orgs_dir/.membership.lock"
t0=$(date +%s)
msps=$(for n in "${names[@]}"; do printf '%s ' "$(org_msp "$n")"; done)

config="$orgs_dir/.config-$$.json"
trap 'rm -f "$orgs_dir"/.config-$$*' EXIT
fetch_channel_config regulator "$config"
cp "$config" "$config.removed"
for name in "${names[@]}"; do
  jq --arg m "$(org_msp "$name")" 'del(.channel_group.groups.Application.groups[$m])' "$config.removed" >"$config.next"
  mv "$config.next" "$config.removed"
done
set_governance_policies "$config.removed" "$config.next"
mv "$config.next" "$config.removed"
if cmp -s <(jq -S . "$config") <(jq -S . "$config.removed"); then
  log "[1/3] ${msps}not in the channel config any more"
else
  signers=$(application_admin_signers "${names[@]}")
  log "[1/3] removing ${msps}from the channel config; the Admins policy (the regulator and a majority of the enterprises) needs: $signers"
  config_update_envelope "$config" "$config.removed" "$config.remove-orgs.pb"
  # shellcheck disable=SC2086
  sign_and_submit_config "$config.remove-orgs.pb" $signers
fi
for name in "${names[@]}"; do
  upper=$(echo "$name" | tr a-z A-Z)
  sed -i "s/^${upper}_STATUS=.*/${upper}_STATUS=removed/" "$orgs_dir/$name.env"
  export "${upper}_STATUS=removed"
done

log "[2/3] chaincode: a new definition without ${msps% }"
bash "$here/deploy-chaincode.sh" 8>&-  # nor the chaincode servers it starts

log "[3/3] stopping the chaincode servers, peers and CAs of ${names[*]}, and their gateways and mirrors when npm start's stack runs them"
# Side by side: a peer can take seconds to exit on SIGTERM, and each org's nodes are their own.
stopping=()
for name in "${names[@]}"; do
  (
    # Its services in scripts/stack.sh: the gateway first, as it reads the mirror.
    stop_pid "$pid_dir/org-$name-gateway.pid" "$repo_root/gateway/"
    stop_pid "$pid_dir/org-$name-indexer.pid" "$repo_root/indexer/"
    for f in "$pid_dir/chaincode-$name".pid "$pid_dir/chaincode-$name"-*.pid; do
      [ -f "$f" ] && stop_pid "$f" "fabric-shim/cli.js server"
    done
    stop_pid "$pid_dir/peer-$name.pid" "peer node start"
    stop_pid "$pid_dir/ca-$name.pid" "fabric-ca-server"
  ) &
  stopping+=($!)
done
for pid in "${stopping[@]}"; do wait "$pid"; done
log "${names[*]} (${msps% }) offboarded in $(( $(date +%s) - t0 ))s; their history stays on the ledger and their files in $crypto_dir/peerOrganizations"
