#!/usr/bin/env bash
# Onboards an enterprise into the running network: `npm run org:add -- <name>`.
#
#   1. its crypto (cryptogen: peer, admin, a client) and its own Fabric CA on that root;
#   2. its peer, started like the first two orgs' (network.sh start-org);
#   3. the channel config update adding it to the Application group, signed by a MAJORITY of the
#      application orgs' admins (the channel's Admins policy), the regulator always among them;
#   4. its peer joined to the channel, and its anchor peer set by its own admin (its org's Admins);
#   5. the chaincode: deploy-chaincode.sh installs the package on its peer, starts its own chaincode
#      server, and every org approves a new sequence whose endorsement policy names it
#      ("any enterprise AND the regulator"; key-level policies narrow each record to its owner);
#   6. what its services need: $LEDGER_RUN_DIR/orgs/<name>/connection-profile.json, in which the
#      new org is the `enterprise` (so a gateway with GATEWAY_ORG=enterprise and that profile
#      serves it), and orgs/<name>/gateway.env with the variables of such a gateway.
#
# Its registry entry $LEDGER_RUN_DIR/orgs/<name>.env holds its MSP id and ports; `network.sh up`
# and `down` start and stop its nodes with the others'. scripts/org-remove.sh offboards it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/channel-config.sh
source "$here/channel-config.sh"

name=${1:-}
[[ "$name" =~ ^[a-z][a-z0-9]{1,15}$ ]] || die "usage: org-add.sh <name>: the name is 2-16 lowercase letters and digits, starting with a letter (got '${name}')"
case $name in enterprise | regulator | orderer) die "$name is a built-in org; choose another name" ;; esac
[ -f "$LEDGER_RUN_DIR/config/$LEDGER_CHANNEL.block" ] || die "no network in $LEDGER_RUN_DIR: run 'bash scripts/network.sh up' first"
entry="$orgs_dir/$name.env"
upper=$(echo "$name" | tr a-z A-Z)
msp="${name^}MSP"
if [ -f "$entry" ] && [ "$(org_var "$name" STATUS)" = removed ]; then
  die "$name was offboarded; its MSP id $msp stays in the history, so onboard the company under a new name"
fi

# One change of the channel's membership at a time: two would race on the config version.
mkdir -p "$orgs_dir" "$pid_dir" "$log_dir"
exec 8>"$orgs_dir/.membership.lock"
flock -w 600 8 || die "another org-add or org-remove holds $orgs_dir/.membership.lock"
t0=$(date +%s)

if [ ! -f "$entry" ]; then
  # Ports: a block of 10 per added org, after every port of the first two orgs and the services.
  index=$(( $(added_orgs_ever | wc -l) + 1 ))
  base=$(( 20000 + 10 * index + LEDGER_PORT_OFFSET ))
  cat >"$entry.tmp" <<ENV
${upper}_MSP=$msp
${upper}_PEER_PORT=$((base + 1))
${upper}_PEER_CC_PORT=$((base + 2))
${upper}_PEER_OPS_PORT=$((base + 3))
${upper}_CA_PORT=$((base + 4))
${upper}_CA_OPS_PORT=$((base + 5))
${upper}_CHAINCODE_PORT=$((base + 6))
${upper}_CHAINCODE_STANDBY_PORT=$((base + 7))
${upper}_STATUS=joining
ENV
  mv "$entry.tmp" "$entry"
fi
set -a; source "$entry"; set +a
[ "$(org_var "$name" STATUS)" = member ] && die "$name ($msp) is already a member of $LEDGER_CHANNEL"
set_status() { sed -i "s/^${upper}_STATUS=.*/${upper}_STATUS=$1/" "$entry"; export "${upper}_STATUS=$1"; }

log "[1/6] $name: crypto material ($msp, peer0.$name.ledger.local) and its Fabric CA"
if [ ! -d "$(org_dir "$name")" ]; then
  cfg=$(mktemp)
  printf 'PeerOrgs:\n  - Name: %s\n    Domain: %s.ledger.local\n    EnableNodeOUs: true\n    Specs:\n      - Hostname: peer0\n        SANS: [localhost, 127.0.0.1]\n    Users:\n      Count: 1\n' \
    "${name^}" "$name" >"$cfg"
  cryptogen extend --input="$crypto_dir" --config="$cfg" >/dev/null
  rm -f "$cfg"
fi

log "[2/6] $name: starting its peer (127.0.0.1:$(org_peer_port "$name")) and CA (https://127.0.0.1:$(org_var "$name" CA_PORT))"
bash "$here/network.sh" start-org "$name" 8>&-  # its nodes must not hold the membership lock

work="$orgs_dir/$name"
mkdir -p "$work"
config_has_org() { jq -e --arg m "$msp" '.channel_group.groups.Application.groups[$m] != null' "$work/config.json" >/dev/null; }
fetch_channel_config regulator "$work/config.json"
if config_has_org; then
  log "[3/6] $msp is in the channel config already"
else
  signers=$(application_admin_signers)
  log "[3/6] adding $msp to the channel config; the Admins policy (MAJORITY of the application orgs' admins) needs: $signers"
  ORG_MSP=$msp ORG_MSP_DIR="$(org_dir "$name")/msp" render "$repo_root/network/org-configtx.yaml" "$work/configtx.yaml"
  FABRIC_CFG_PATH="$work" configtxgen -printOrg "$msp" >"$work/org.json" 2>>"$log_dir/configtxgen.log" || die "configtxgen could not print $msp (log: $log_dir/configtxgen.log)"
  jq --arg m "$msp" --slurpfile org "$work/org.json" '.channel_group.groups.Application.groups[$m] = $org[0]' "$work/config.json" >"$work/config-added.json"
  config_update_envelope "$work/config.json" "$work/config-added.json" "$work/add-org.pb"
  # shellcheck disable=SC2086
  sign_and_submit_config "$work/add-org.pb" $signers
fi

log "[4/6] joining the $name peer to $LEDGER_CHANNEL and setting its anchor peer"
(
  peer_admin_env "$name"
  if ! peer channel list 2>/dev/null | grep -qx "$LEDGER_CHANNEL"; then
    # shellcheck disable=SC2046
    for i in $(seq 1 30); do
      peer channel fetch 0 "$work/genesis.block" -c "$LEDGER_CHANNEL" $(orderer_cli_args) >>"$log_dir/cli.log" 2>&1 && break
      [ "$i" = 30 ] && die "the $name admin cannot fetch the genesis block (not yet a reader of $LEDGER_CHANNEL?)"
      sleep 1
    done
    peer channel join -b "$work/genesis.block" >>"$log_dir/cli.log" 2>&1 || { tail -n 5 "$log_dir/cli.log" >&2; die "the $name peer could not join $LEDGER_CHANNEL"; }
  fi
)
wait_peer_caught_up "$name"
fetch_channel_config "$name" "$work/config.json"
if jq -e --arg m "$msp" '.channel_group.groups.Application.groups[$m].values.AnchorPeers != null' "$work/config.json" >/dev/null; then
  log "    its anchor peer is set already"
else
  jq --arg m "$msp" --argjson port "$(org_peer_port "$name")" \
    '.channel_group.groups.Application.groups[$m].values.AnchorPeers = {mod_policy: "Admins", value: {anchor_peers: [{host: "127.0.0.1", port: $port}]}, version: "0"}' \
    "$work/config.json" >"$work/config-anchor.json"
  config_update_envelope "$work/config.json" "$work/config-anchor.json" "$work/anchor.pb"
  sign_and_submit_config "$work/anchor.pb" "$name"
  wait_peer_caught_up "$name"
fi
set_status member

log "[5/6] chaincode: $name installs and approves; a new definition whose endorsement policy names $msp"
bash "$here/deploy-chaincode.sh" 8>&-  # nor the chaincode servers it starts

log "[6/6] connection profile and gateway settings for $name"
dom="$name.ledger.local" base_dir="$(org_dir "$name")"
jq --arg msp "$msp" --arg dom "$dom" --arg base "$base_dir" --arg name "$name" \
  --arg peer "127.0.0.1:$(org_peer_port "$name")" --arg ca "https://127.0.0.1:$(org_var "$name" CA_PORT)" '
  def user($u): {certFile: "\($base)/users/\($u)@\($dom)/msp/signcerts/\($u)@\($dom)-cert.pem", keyFile: "\($base)/users/\($u)@\($dom)/msp/keystore/priv_sk"};
  .organizations.enterprise = {
    mspId: $msp,
    peer: {endpoint: $peer, hostAlias: "peer0.\($dom)", tlsCaFile: "\($base)/peers/peer0.\($dom)/tls/ca.crt"},
    admin: user("Admin"), client: user("User1"),
    ca: {url: $ca, tlsCaFile: "\($base)/ca/ca.\($dom)-cert.pem", caName: "ca-\($name)"}
  }' "$LEDGER_RUN_DIR/connection-profile.json" >"$work/connection-profile.json"
cat >"$work/gateway.env" <<ENV
# A gateway serving $msp: GATEWAY_ORG=enterprise with this org's profile, CA registrar and wallet.
LEDGER_CONNECTION_PROFILE=$work/connection-profile.json
GATEWAY_ORG=enterprise
GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE=$LEDGER_RUN_DIR/ca/$name/bootstrap-password
GATEWAY_WALLET_DIR=$LEDGER_RUN_DIR/gateway-$name/wallet
GATEWAY_BLOCKSTORE_DIR=$LEDGER_RUN_DIR/gateway-$name/blockstore
ENV
log "$name ($msp) onboarded in $(( $(date +%s) - t0 ))s: peer 127.0.0.1:$(org_peer_port "$name"), CA https://127.0.0.1:$(org_var "$name" CA_PORT), chaincode server 127.0.0.1:$(cat "$LEDGER_RUN_DIR/chaincode/active-port-$name" 2>/dev/null || org_cc_port "$name"); profile $work/connection-profile.json, gateway settings $work/gateway.env"
