#!/usr/bin/env bash
# Offboards an enterprise added with org-add.sh: `npm run org:remove -- <name>`.
#
#   1. removes its group from the channel config's Application group, signed by a MAJORITY of the
#      application orgs' admins (the regulator always among them; the org itself does not sign);
#   2. commits a new chaincode definition whose endorsement policy no longer names it;
#   3. stops its chaincode server, peer and CA.
#
# From the next block on, the channel refuses its members' proposals and its peer's endorsements,
# and no one can write its records any more (their key-level policies need its peer). Its history
# stays: its blocks and transactions remain in every peer's ledger, and the verifier checks them
# against the config blocks in force when they were written, which still hold its MSP. Its crypto
# material, ledger copy and registry entry (status removed) stay in the run directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/channel-config.sh
source "$here/channel-config.sh"

name=${1:-}
[ -n "$name" ] || die "usage: org-remove.sh <name> (an org added with org-add.sh)"
case $name in enterprise | regulator) die "$name is a founding org of the channel; only orgs added with org-add.sh are offboarded" ;; esac
[ -f "$orgs_dir/$name.env" ] || die "$name was never added (no $orgs_dir/$name.env)"
[ "$(org_var "$name" STATUS)" = removed ] && die "$name is already offboarded"
upper=$(echo "$name" | tr a-z A-Z) msp=$(org_msp "$name")

exec 8>"$orgs_dir/.membership.lock"
flock -w 600 8 || die "another org-add or org-remove holds $orgs_dir/.membership.lock"
t0=$(date +%s)
work="$orgs_dir/$name"
mkdir -p "$work"

fetch_channel_config regulator "$work/config.json"
if jq -e --arg m "$msp" '.channel_group.groups.Application.groups[$m] == null' "$work/config.json" >/dev/null; then
  log "[1/3] $msp is not in the channel config any more"
else
  signers=$(application_admin_signers "$name")
  log "[1/3] removing $msp from the channel config; the Admins policy (MAJORITY of the application orgs' admins) needs: $signers"
  jq --arg m "$msp" 'del(.channel_group.groups.Application.groups[$m])' "$work/config.json" >"$work/config-removed.json"
  config_update_envelope "$work/config.json" "$work/config-removed.json" "$work/remove-org.pb"
  # shellcheck disable=SC2086
  sign_and_submit_config "$work/remove-org.pb" $signers
fi
sed -i "s/^${upper}_STATUS=.*/${upper}_STATUS=removed/" "$orgs_dir/$name.env"
export "${upper}_STATUS=removed"

log "[2/3] chaincode: a new definition without $msp"
bash "$here/deploy-chaincode.sh" 8>&-  # nor the chaincode servers it starts

log "[3/3] stopping the $name chaincode server, peer and CA"
for f in "$pid_dir/chaincode-$name".pid "$pid_dir/chaincode-$name"-*.pid; do
  [ -f "$f" ] && stop_pid "$f" "fabric-shim/cli.js server"
done
stop_pid "$pid_dir/peer-$name.pid" "peer node start"
stop_pid "$pid_dir/ca-$name.pid" "fabric-ca-server"
log "$name ($msp) offboarded in $(( $(date +%s) - t0 ))s; its history stays on the ledger and its files in $(org_dir "$name")"
