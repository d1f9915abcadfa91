#!/usr/bin/env bash
# Onboards enterprises into the running network: `npm run org:add -- <name> [<name> …]`.
#
#   1. each one's crypto (cryptogen: peer, admin, a client) and its own Fabric CA on that root;
#   2. each one's peer, started like the first two orgs' (network.sh start-org), all at once;
#   3. one channel config update adding them all to the Application group and rewriting its Admins,
#      LifecycleEndorsement and Endorsement policies to name them (the regulator AND a majority of
#      the enterprises, channel-config.sh), signed as the Admins policy stands: the regulator's
#      admin and a majority of the enterprises' admins;
#   4. their peers joined to the channel, and their anchor peers set by their own admins (each
#      org's Admins) in one more update;
#   5. the chaincode: deploy-chaincode.sh installs the package on their peers, starts their own
#      chaincode servers, and every org approves one new sequence whose endorsement policy names
#      them ("any enterprise AND the regulator"; key-level policies narrow each record to its owner);
#   6. what their services need: $LEDGER_RUN_DIR/orgs/<name>/connection-profile.json, in which the
#      new org is the `enterprise` (so a gateway with GATEWAY_ORG=enterprise and that profile
#      serves it), and orgs/<name>/gateway.env with the variables of such a gateway.
#
# Several names in one command cost about as much as one: the channel's membership and the chaincode
# definition change once for all of them, and their nodes start side by side.
#
# Each org's registry entry $LEDGER_RUN_DIR/orgs/<name>.env holds its MSP id and ports; `network.sh up`
# and `down` start and stop its nodes with the others'. scripts/org-remove.sh offboards it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/channel-config.sh
source "$here/channel-config.sh"

[ $# -ge 1 ] || die "usage: org-add.sh <name> [<name> …]: each name 2-16 lowercase letters and digits, starting with a letter"
names=("$@")
[ "$(printf '%s\n' "${names[@]}" | sort | uniq -d)" = "" ] || die "a name is given twice: ${names[*]}"
for name in "${names[@]}"; do
  [[ "$name" =~ ^[a-z][a-z0-9]{1,15}$ ]] || die "usage: org-add.sh <name> [<name> …]: a name is 2-16 lowercase letters and digits, starting with a letter (got '${name}')"
  case $name in enterprise | regulator | orderer) die "$name is a built-in org; choose another name" ;; esac
  if [ -f "$orgs_dir/$name.env" ] && [ "$(org_var "$name" STATUS)" = removed ]; then
    die "$name was offboarded; its MSP id ${name^}MSP stays in the history, so onboard the company under a new name"
  fi
done
[ -f "$LEDGER_RUN_DIR/config/$LEDGER_CHANNEL.block" ] || die "no network in $LEDGER_RUN_DIR: run 'bash scripts/network.sh up' first"

# One change of the channel's membership at a time: two would race on the config version.
mkdir -p "$orgs_dir" "$pid_dir" "$log_dir"
exec 8>"$orgs_dir/.membership.lock"
flock -w 600 8 || die "another org-add or org-remove holds $orgs_dir/.membership.lock"
t0=$(date +%s)

upper_of() { echo "$1" | tr a-z A-Z; }
for name in "${names[@]}"; do
  entry="$orgs_dir/$name.env" upper=$(upper_of "$name")
  if [ ! -f "$entry" ]; then
    # Ports: a block of 10 per added org, after every port of the first two orgs and the services.
    index=$(( $(added_orgs_ever | wc -l) + 1 ))
    base=$(( 20000 + 10 * index + LEDGER_PORT_OFFSET ))
    cat >"$entry.tmp" <<ENV
${upper}_MSP=${name^}MSP
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
  [ "$(org_var "$name" STATUS)" = member ] && die "$name ($(org_msp "$name")) is already a member of $LEDGER_CHANNEL"
done
set_status() { local upper; upper=$(upper_of "$1"); sed -i "s/^${upper}_STATUS=.*/${upper}_STATUS=$2/" "$orgs_dir/$1.env"; export "${upper}_STATUS=$2"; }
msps() { local n; for n in "${names[@]}"; do printf '%s ' "$(org_msp "$n")"; done; }

log "[1/6] ${names[*]}: crypto material ($(msps | sed 's/ $//')) and a Fabric CA each"
for name in "${names[@]}"; do
  if [ ! -d "$(org_dir "$name")" ]; then
    cfg=$(mktemp)
    printf 'PeerOrgs:\n  - Name: %s\n    Domain: %s.ledger.local\n    EnableNodeOUs: true\n    Specs:\n      - Hostname: peer0\n        SANS: [localhost, 127.0.0.1]\n    Users:\n      Count: 1\n' \
      "${name^}" "$name" >"$cfg"
    cryptogen extend --input="$crypto_dir" --config="$cfg" >/dev/null
    rm -f "$cfg"
  fi
  mkdir -p "$orgs_dir/$name"
done

# Waits for background jobs (pids in $@), failing once all ended if any failed; $what names the step.
wait_all() {
  local what=$1 failed=0 pid; shift
  for pid in "$@"; do wait "$pid" || failed=1; done
  [ "$failed" = 0 ] || die "$what failed (above)"
}

log "[2/6] starting their peers and CAs: $(for n in "${names[@]}"; do printf '%s 127.0.0.1:%s, ' "$n" "$(org_peer_port "$n")"; done | sed 's/, $//')"
jobs_started=()
for name in "${names[@]}"; do
  bash "$here/network.sh" start-org "$name" 8>&- &  # their nodes must not hold the membership lock
  jobs_started+=($!)
done
wait_all "starting the nodes" "${jobs_started[@]}"

config="$orgs_dir/.config-$$.json"
trap 'rm -f "$orgs_dir"/.config-$$*' EXIT
fetch_channel_config regulator "$config"
missing=()
for name in "${names[@]}"; do
  jq -e --arg m "$(org_msp "$name")" '.channel_group.groups.Application.groups[$m] == null' "$config" >/dev/null && missing+=("$name")
done
if [ ${#missing[@]} = 0 ]; then
  log "[3/6] $(msps)in the channel config already"
else
  signers=$(application_admin_signers)
  log "[3/6] adding ${missing[*]} to the channel config; the Admins policy (the regulator and a majority of the enterprises) needs: $signers"
  cp "$config" "$config.added"
  for name in "${missing[@]}"; do
    work="$orgs_dir/$name" msp=$(org_msp "$name")
    ORG_MSP=$msp ORG_MSP_DIR="$(org_dir "$name")/msp" render "$repo_root/network/org-configtx.yaml" "$work/configtx.yaml"
    FABRIC_CFG_PATH="$work" configtxgen -printOrg "$msp" >"$work/org.json" 2>>"$log_dir/configtxgen.log" || die "configtxgen could not print $msp (log: $log_dir/configtxgen.log)"
    jq --arg m "$msp" --slurpfile org "$work/org.json" '.channel_group.groups.Application.groups[$m] = $org[0]' "$config.added" >"$config.next"
    mv "$config.next" "$config.added"
  done
  set_governance_policies "$config.added" "$config.next"
  mv "$config.next" "$config.added"
  config_update_envelope "$config" "$config.added" "$config.add-orgs.pb"
  # shellcheck disable=SC2086
  sign_and_submit_config "$config.add-orgs.pb" $signers
fi

log "[4/6] joining their peers to $LEDGER_CHANNEL and setting their anchor peers"
join_channel_as() {
  local name=$1 work="$orgs_dir/$1" i
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
  wait_peer_caught_up "$name"
}
jobs_started=()
for name in "${names[@]}"; do
  (join_channel_as "$name") &
  jobs_started+=($!)
done
wait_all "joining the channel" "${jobs_started[@]}"
fetch_channel_config regulator "$config"
anchorless=()
cp "$config" "$config.anchors"
for name in "${names[@]}"; do
  jq -e --arg m "$(org_msp "$name")" '.channel_group.groups.Application.groups[$m].values.AnchorPeers == null' "$config" >/dev/null || continue
  anchorless+=("$name")
  jq --arg m "$(org_msp "$name")" --argjson port "$(org_peer_port "$name")" \
    '.channel_group.groups.Application.groups[$m].values.AnchorPeers = {mod_policy: "Admins", value: {anchor_peers: [{host: "127.0.0.1", port: $port}]}, version: "0"}' \
    "$config.anchors" >"$config.next"
  mv "$config.next" "$config.anchors"
done
if [ ${#anchorless[@]} = 0 ]; then
  log "    their anchor peers are set already"
else
  # Each anchor peer is its own org's value (mod_policy Admins of that org): its admin signs.
  config_update_envelope "$config" "$config.anchors" "$config.anchors.pb"
  sign_and_submit_config "$config.anchors.pb" "${anchorless[@]}"
  for name in "${anchorless[@]}"; do wait_peer_caught_up "$name"; done
fi
for name in "${names[@]}"; do set_status "$name" member; done

log "[5/6] chaincode: ${names[*]} install and approve; a new definition whose endorsement policy names $(msps)"
bash "$here/deploy-chaincode.sh" 8>&-  # nor the chaincode servers it starts

log "[6/6] connection profiles and gateway settings for ${names[*]}"
for name in "${names[@]}"; do
  work="$orgs_dir/$name" dom="$name.ledger.local" base_dir="$(org_dir "$name")"
  jq --arg msp "$(org_msp "$name")" --arg dom "$dom" --arg base "$base_dir" --arg name "$name" \
    --arg peer "127.0.0.1:$(org_peer_port "$name")" --arg ca "https://127.0.0.1:$(org_var "$name" CA_PORT)" '
    def user($u): {certFile: "\($base)/users/\($u)@\($dom)/msp/signcerts/\($u)@\($dom)-cert.pem", keyFile: "\($base)/users/\($u)@\($dom)/msp/keystore/priv_sk"};
    .organizations.enterprise = {
      mspId: $msp,
      peer: {endpoint: $peer, hostAlias: "peer0.\($dom)", tlsCaFile: "\($base)/peers/peer0.\($dom)/tls/ca.crt"},
      admin: user("Admin"), client: user("User1"),
      ca: {url: $ca, tlsCaFile: "\($base)/ca/ca.\($dom)-cert.pem", caName: "ca-\($name)"}
    }' "$LEDGER_RUN_DIR/connection-profile.json" >"$work/connection-profile.json"
  cat >"$work/gateway.env" <<ENV
# A gateway serving $(org_msp "$name"): GATEWAY_ORG=enterprise with this org's profile, CA registrar and wallet.
LEDGER_CONNECTION_PROFILE=$work/connection-profile.json
GATEWAY_ORG=enterprise
GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE=$LEDGER_RUN_DIR/ca/$name/bootstrap-password
GATEWAY_WALLET_DIR=$LEDGER_RUN_DIR/gateway-$name/wallet
GATEWAY_BLOCKSTORE_DIR=$LEDGER_RUN_DIR/gateway-$name/blockstore
ENV
  log "$name ($(org_msp "$name")): peer 127.0.0.1:$(org_peer_port "$name"), CA https://127.0.0.1:$(org_var "$name" CA_PORT), chaincode server 127.0.0.1:$(cat "$LEDGER_RUN_DIR/chaincode/active-port-$name" 2>/dev/null || org_cc_port "$name"); profile $work/connection-profile.json, gateway settings $work/gateway.env"
done
log "${names[*]} onboarded in $(( $(date +%s) - t0 ))s"
