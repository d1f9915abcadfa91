#!/usr/bin/env bash
# The native Fabric network: three Raft orderers (four SmartBFT orderers with LEDGER_ORDERING=bft),
# the enterprise's and the regulator's peers, TLS on, no Docker. All state (crypto, ledgers, logs,
# pids) lives under $LEDGER_RUN_DIR.
#
#   network.sh up            start what is not running; create crypto and the channel on first run
#   network.sh down [--wipe] stop the processes this script started; --wipe also deletes all state
#   network.sh status        what runs, where, and each /healthz
#   network.sh peer-up ORG   start only that org's peer (enterprise|regulator) if it is not running,
#                            and wait for its /healthz: nothing else is asked of the orderer, so it
#                            works while the orderer is out of reach (tests of a peer left behind)
#   network.sh generate      only create crypto, the channel block and the node configs (used by
#                            docker-compose.yml, whose containers then run the nodes)
#
# LEDGER_NODES=external makes `up` start no node itself: it waits for nodes started by someone else
# (docker compose) on the same ports, then joins the channel and writes the connection profile.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/pg-cluster.sh
source "$here/pg-cluster.sh"

require_binaries() {
  local missing=() needed=(peer configtxgen osnadmin cryptogen discover fabric-ca-client)
  # Nodes run here unless LEDGER_NODES=external (containers), which needs the CLI tools only.
  [ "${LEDGER_NODES:-local}" = external ] || needed+=(orderer fabric-ca-server)
  for b in "${needed[@]}"; do command -v "$b" >/dev/null 2>&1 || missing+=("$b"); done
  [ "${LEDGER_NODES:-local}" = external ] || [ -x "$FABRIC_HOME/ccaas_builder/bin/detect" ] || missing+=("ccaas_builder")
  if [ ${#missing[@]} -gt 0 ]; then
    die "missing Fabric binaries in $FABRIC_HOME: ${missing[*]}. Run 'bash scripts/install-fabric.sh' first (or point FABRIC_HOME at a directory holding Fabric 3.1.5's bin/ and ccaas_builder/bin/)."
  fi
}

generate_artifacts() {
  local mode profile=ComplianceChannel
  mode=$(ordering_mode)
  [ "$mode" = bft ] && profile=ComplianceChannelBFT
  log "generating node and admin identities with cryptogen ($(orderer_count) orderers; TLS certificates for 127.0.0.1 and localhost)"
  mkdir -p "$LEDGER_RUN_DIR/config"
  ORDERER_COUNT=$(orderer_count) render "$repo_root/network/crypto-config.yaml" "$LEDGER_RUN_DIR/config/crypto-config.yaml"
  cryptogen generate --config="$LEDGER_RUN_DIR/config/crypto-config.yaml" --output="$crypto_dir" >/dev/null
  log "writing the channel's genesis block with configtxgen (profile $profile)"
  render "$repo_root/network/configtx.yaml" "$LEDGER_RUN_DIR/config/configtx.yaml"
  FABRIC_CFG_PATH="$LEDGER_RUN_DIR/config" configtxgen -profile "$profile" \
    -outputBlock "$LEDGER_RUN_DIR/config/$LEDGER_CHANNEL.block" -channelID "$LEDGER_CHANNEL" 2>"$log_dir/configtxgen.log" \
    || { cat "$log_dir/configtxgen.log" >&2; die "configtxgen failed"; }
  echo "$mode" >"$LEDGER_RUN_DIR/config/ordering"
}

render_node_configs() {
  local i
  for i in $(orderer_ids); do
    mkdir -p "$LEDGER_RUN_DIR/orderers/orderer$i"
    ORDERER_NODE_DIR="$(orderer_node_dir "$i")" ORDERER_DATA_DIR="$LEDGER_RUN_DIR/orderers/orderer$i/data" \
      ORDERER_PORT="$(orderer_port "$i")" ORDERER_ADMIN_PORT="$(orderer_admin_port "$i")" ORDERER_OPS_PORT="$(orderer_ops_port "$i")" \
      render "$repo_root/network/orderer.yaml" "$LEDGER_RUN_DIR/orderers/orderer$i/orderer.yaml"
  done
  for org in $(peer_orgs); do render_peer_config "$org"; done
}

render_peer_config() {
  local org=$1
  mkdir -p "$LEDGER_RUN_DIR/peers/$org"
  (
    local upper; upper=$(echo "$org" | tr a-z A-Z)
    local port_var="${upper}_PEER_PORT" cc_var="${upper}_PEER_CC_PORT" ops_var="${upper}_PEER_OPS_PORT"
    PEER_ID="peer0.$org.ledger.local" PEER_PORT="${!port_var}" PEER_CC_PORT="${!cc_var}" PEER_OPS_PORT="${!ops_var}" \
      PEER_MSP_ID="$(org_msp "$org")" PEER_NODE_DIR="$(peer_node_dir "$org")" \
      PEER_DATA_DIR="$LEDGER_RUN_DIR/peers/$org/data" CCAAS_BUILDER_DIR="${FABRIC_CCAAS_BUILDER_DIR:-$FABRIC_HOME/ccaas_builder}" \
      render "$repo_root/network/core.yaml" "$LEDGER_RUN_DIR/peers/$org/core.yaml"
  )
}

# The peer and CA of an enterprise added with org-add.sh, started and answering /healthz.
start_org_nodes() {
  local org=$1
  start_peer "$org"
  start_ca "$org"
  wait_http_ok "http://127.0.0.1:$(org_peer_ops_port "$org")/healthz" 60 "$log_dir/peer-$org.log"
  wait_http_ok "http://127.0.0.1:$(org_var "$org" CA_OPS_PORT)/healthz" 60 "$log_dir/ca-$org.log"
}

start_orderer() {
  local i=$1 pidf="$pid_dir/orderer$1.pid"
  if pid_alive "$pidf"; then log "orderer$i already running (pid $(cat "$pidf"))"; return; fi
  log "starting orderer$i on 127.0.0.1:$(orderer_port "$i") (admin $(orderer_admin_port "$i"), operations $(orderer_ops_port "$i"))"
  FABRIC_CFG_PATH="$LEDGER_RUN_DIR/orderers/orderer$i" nohup orderer >>"$log_dir/orderer$i.log" 2>&1 &
  echo $! >"$pidf"
}

start_peer() {
  local org=$1 pidf="$pid_dir/peer-$1.pid"
  if pid_alive "$pidf"; then log "$org peer already running (pid $(cat "$pidf"))"; return; fi
  log "starting $org peer on 127.0.0.1:$(org_peer_port "$org") (operations $(org_peer_ops_port "$org"))"
  # CORE_VM_ENDPOINT empty: no Docker; chaincode runs as a service (ccaas builder).
  FABRIC_CFG_PATH="$LEDGER_RUN_DIR/peers/$org" CORE_VM_ENDPOINT= nohup peer node start >>"$log_dir/peer-$org.log" 2>&1 &
  echo $! >"$pidf"
}

# One Fabric CA per peer org. It signs with the org's cryptogen root, so the users it enrols (with
# role attributes, which cryptogen cannot issue) belong to the same MSP as the org's nodes.
start_ca() {
  local org=$1 pidf="$pid_dir/ca-$1.pid" home="$LEDGER_RUN_DIR/ca/$1" upper port ops
  upper=$(echo "$org" | tr a-z A-Z); port="${upper}_CA_PORT"; ops="${upper}_CA_OPS_PORT"
  if pid_alive "$pidf"; then log "$org CA already running (pid $(cat "$pidf"))"; return; fi
  mkdir -p "$home"
  if [ ! -f "$home/bootstrap-password" ]; then
    (umask 077; openssl rand -hex 16 >"$home/bootstrap-password")
  fi
  local cadir; cadir="$(org_dir "$org")/ca"
  log "starting the $org CA on https://127.0.0.1:${!port} (operations ${!ops})"
  (
    cd "$home"
    nohup fabric-ca-server start --home "$home" -b "admin:$(cat "$home/bootstrap-password")" --ca.name "ca-$org" \
      --ca.certfile "$cadir/ca.$org.ledger.local-cert.pem" --ca.keyfile "$cadir/priv_sk" \
      --address 127.0.0.1 --port "${!port}" --tls.enabled --csr.hosts localhost,127.0.0.1 \
      --operations.listenaddress "127.0.0.1:${!ops}" >>"$log_dir/ca-$org.log" 2>&1 &
    echo $! >"$pidf"
  )
}

# osnadmin as the orderer org's admin (mutual TLS) against orderer $1's admin endpoint.
osnadmin_as_admin() {
  local i=$1 admin="$orderer_org_dir/users/Admin@orderer.ledger.local/tls"
  shift
  osnadmin channel "$@" -o "127.0.0.1:$(orderer_admin_port "$i")" --ca-file "$orderer_tls_ca" --client-cert "$admin/client.crt" --client-key "$admin/client.key"
}

join_channel() {
  local i
  for i in $(orderer_ids); do
    # /healthz answers before the node's other listeners open: with several nodes starting at once
    # on two cores, the gap is long enough for a join to be refused.
    wait_tcp "$(orderer_admin_port "$i")" 60 || die "orderer$i's admin endpoint 127.0.0.1:$(orderer_admin_port "$i") does not listen (log: $log_dir/orderer$i.log)"
    if osnadmin_as_admin "$i" list 2>/dev/null | grep -q "\"name\": *\"$LEDGER_CHANNEL\""; then
      log "orderer$i already in channel $LEDGER_CHANNEL"
    else
      log "joining orderer$i to channel $LEDGER_CHANNEL (osnadmin)"
      osnadmin_as_admin "$i" join --channelID "$LEDGER_CHANNEL" --config-block "$LEDGER_RUN_DIR/config/$LEDGER_CHANNEL.block" >/dev/null
    fi
  done
  for org in enterprise regulator; do
    wait_tcp "$(org_peer_port "$org")" 60 || die "the $org peer does not listen on 127.0.0.1:$(org_peer_port "$org") (log: $log_dir/peer-$org.log)"
    (
      peer_admin_env "$org"
      if peer channel list 2>/dev/null | grep -qx "$LEDGER_CHANNEL"; then
        log "$org peer already in channel $LEDGER_CHANNEL"
      else
        log "joining the $org peer to channel $LEDGER_CHANNEL"
        # A peer that has just restarted may not list its channel yet while it reopens the ledger:
        # "already exists" then means it is joined.
        if ! out=$(peer channel join -b "$LEDGER_RUN_DIR/config/$LEDGER_CHANNEL.block" 2>&1); then
          echo "$out" >>"$log_dir/cli.log"
          echo "$out" | grep -q "already exists" || { echo "$out" | tail -n 5 >&2; die "the $org peer could not join $LEDGER_CHANNEL"; }
          log "$org peer already in channel $LEDGER_CHANNEL (ledger reopening)"
        fi
      fi
    )
  done
}

# A restarted orderer answers /healthz before the consenters have (re-)elected a leader; until then
# every transaction is refused ("no Raft leader"). Done when one running orderer reports itself
# leader (Raft), or when every running orderer names the same leader (SmartBFT, whose followers
# report the leader's id).
wait_ordering_leader() {
  local i=0 mode
  mode=$(ordering_mode)
  until ordering_has_leader "$mode"; do
    i=$((i + 1))
    [ "$i" -ge 300 ] && die "the orderers have no $mode leader for $LEDGER_CHANNEL after 60s (logs: $log_dir/orderer*.log)"
    sleep 0.2
  done
}

ordering_has_leader() {
  local mode=$1 i m leaders=() ids=()
  for i in $(orderer_ids); do
    pid_alive "$pid_dir/orderer$i.pid" || [ "${LEDGER_NODES:-local}" = external ] || continue
    m=$(curl -fsS "http://127.0.0.1:$(orderer_ops_port "$i")/metrics" 2>/dev/null) || continue
    if [ "$mode" = bft ]; then
      ids+=("$(echo "$m" | sed -n "s/^consensus_smartbft_view_leader_id{channel=\"$LEDGER_CHANNEL\"} //p")")
    elif echo "$m" | grep -q "^consensus_etcdraft_is_leader{channel=\"$LEDGER_CHANNEL\"} 1"; then
      leaders+=("$i")
    fi
  done
  if [ "$mode" = bft ]; then
    [ ${#ids[@]} -gt 0 ] && [ -n "${ids[0]}" ] && [ "${ids[0]}" != 0 ] || return 1
    [ "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" = 1 ]
  else
    [ ${#leaders[@]} = 1 ]
  fi
}

wait_channel_height() {
  # The peers have the channel only once each has pulled the genesis block from the orderer.
  for org in enterprise regulator; do
    (
      peer_admin_env "$org"
      for _ in $(seq 1 100); do
        peer channel getinfo -c "$LEDGER_CHANNEL" >/dev/null 2>&1 && exit 0
        sleep 0.3
      done
      die "the $org peer does not serve channel $LEDGER_CHANNEL (log: $log_dir/peer-$org.log)"
    )
  done
}

write_connection_profile() {
  # Plain JSON that services and tests read (schema: schema/src/connection-profile.ts).
  local out="$LEDGER_RUN_DIR/connection-profile.json"
  node - "$out" "$(orderer_count)" "$(ordering_mode)" <<'JS'
const fs = require('node:fs');
const e = process.env;
const run = e.LEDGER_RUN_DIR;
const crypto = `${run}/crypto`;
const org = (name, port, caPort) => {
  const dom = `${name}.ledger.local`;
  const base = `${crypto}/peerOrganizations/${dom}`;
  const user = (u) => ({
    certFile: `${base}/users/${u}@${dom}/msp/signcerts/${u}@${dom}-cert.pem`,
    keyFile: `${base}/users/${u}@${dom}/msp/keystore/priv_sk`,
  });
  return {
    mspId: name === 'enterprise' ? 'EnterpriseMSP' : 'RegulatorMSP',
    peer: { endpoint: `127.0.0.1:${port}`, hostAlias: `peer0.${dom}`, tlsCaFile: `${base}/peers/peer0.${dom}/tls/ca.crt` },
    admin: user('Admin'),
    client: user('User1'),
    ca: { url: `https://127.0.0.1:${caPort}`, tlsCaFile: `${base}/ca/ca.${dom}-cert.pem`, caName: `ca-${name}` },
  };
};
const orderer = (i) => ({
  endpoint: `127.0.0.1:${e[i === 0 ? 'ORDERER_PORT' : `ORDERER${i}_PORT`]}`,
  hostAlias: `orderer${i}.orderer.ledger.local`,
  tlsCaFile: `${crypto}/ordererOrganizations/orderer.ledger.local/orderers/orderer${i}.orderer.ledger.local/tls/ca.crt`,
  operationsUrl: `http://127.0.0.1:${e[i === 0 ? 'ORDERER_OPS_PORT' : `ORDERER${i}_OPS_PORT`]}`,
});
const orderers = Array.from({ length: Number(process.argv[3]) }, (_, i) => orderer(i));
const profile = {
  channel: e.LEDGER_CHANNEL,
  chaincode: e.LEDGER_CHAINCODE,
  ordering: process.argv[4],
  orderer: orderers[0],
  orderers,
  organizations: { enterprise: org('enterprise', e.ENTERPRISE_PEER_PORT, e.ENTERPRISE_CA_PORT), regulator: org('regulator', e.REGULATOR_PEER_PORT, e.REGULATOR_CA_PORT) },
};
fs.writeFileSync(process.argv[2], JSON.stringify(profile, null, 2) + '\n');
JS
  log "connection profile: $out"
}

cmd_generate() {
  command -v cryptogen >/dev/null 2>&1 && command -v configtxgen >/dev/null 2>&1 || die "cryptogen and configtxgen are needed: run 'bash scripts/install-fabric.sh'"
  mkdir -p "$pid_dir" "$log_dir"
  if [ ! -f "$LEDGER_RUN_DIR/config/$LEDGER_CHANNEL.block" ]; then
    if [ -d "$crypto_dir" ]; then
      die "$LEDGER_RUN_DIR holds crypto material but no channel block: an earlier 'up' stopped half-way. Run 'bash scripts/network.sh down --wipe' and then 'up' again."
    fi
    log "new network in $LEDGER_RUN_DIR"
    generate_artifacts
  else
    [ -f "$LEDGER_RUN_DIR/config/ordering" ] \
      || die "$LEDGER_RUN_DIR holds a network of an earlier version, with a single orderer whose channel cannot take the three consenters; run 'bash scripts/network.sh down --wipe' and then 'up' again."
    if [ -n "${LEDGER_ORDERING:-}" ] && [ "$LEDGER_ORDERING" != "$(ordering_mode)" ]; then
      die "LEDGER_ORDERING=$LEDGER_ORDERING, but the network in $LEDGER_RUN_DIR was created with $(ordering_mode) ordering (its genesis block names the consenters); unset LEDGER_ORDERING, or 'down --wipe' and 'up' again."
    fi
    log "existing network in $LEDGER_RUN_DIR ($(ordering_mode) ordering, $(orderer_count) orderers)"
  fi
  render_node_configs
}

cmd_up() {
  require_binaries
  local t0; t0=$(date +%s)
  cmd_generate
  if [ "${LEDGER_NODES:-local}" = external ]; then
    log "LEDGER_NODES=external: waiting for nodes started elsewhere"
  else
    for i in $(orderer_ids); do start_orderer "$i"; done
    start_peer enterprise
    start_peer regulator
    start_ca enterprise
    start_ca regulator
    # Enterprises added later were joined when they were added; their ledgers keep the channel.
    for org in $(added_orgs); do start_org_nodes "$org"; done
  fi
  log "waiting for /healthz of the $(orderer_count) orderers, both peers and both CAs"
  for i in $(orderer_ids); do wait_http_ok "http://127.0.0.1:$(orderer_ops_port "$i")/healthz" 60 "$log_dir/orderer$i.log"; done
  wait_http_ok "http://127.0.0.1:$ENTERPRISE_PEER_OPS_PORT/healthz" 60 "$log_dir/peer-enterprise.log"
  wait_http_ok "http://127.0.0.1:$REGULATOR_PEER_OPS_PORT/healthz" 60 "$log_dir/peer-regulator.log"
  wait_http_ok "http://127.0.0.1:$ENTERPRISE_CA_OPS_PORT/healthz" 60 "$log_dir/ca-enterprise.log"
  wait_http_ok "http://127.0.0.1:$REGULATOR_CA_OPS_PORT/healthz" 60 "$log_dir/ca-regulator.log"
  join_channel
  wait_ordering_leader
  wait_channel_height
  wait_discovery
  write_connection_profile
  log "network up in $(( $(date +%s) - t0 ))s: channel $LEDGER_CHANNEL, $(ordering_mode) orderers $(for i in $(orderer_ids); do printf '127.0.0.1:%s ' "$(orderer_port "$i")"; done)peers 127.0.0.1:$ENTERPRISE_PEER_PORT (EnterpriseMSP) and 127.0.0.1:$REGULATOR_PEER_PORT (RegulatorMSP); state in $LEDGER_RUN_DIR"
}

cmd_down() {
  local wipe=${1:-}
  # The services (indexer, gateway, ingest) depend on the network: they go first.
  [ -x "$here/stack.sh" ] && [ -d "$pid_dir" ] && { bash "$here/stack.sh" down || true; }
  for f in "$pid_dir"/chaincode*.pid; do
    [ -f "$f" ] && { log "stopping the chaincode server ($(basename "$f" .pid))"; stop_pid "$f" "fabric-shim/cli.js server"; }
  done
  for org in enterprise regulator $(added_orgs_ever); do
    [ -f "$pid_dir/ca-$org.pid" ] && { log "stopping the $org CA"; stop_pid "$pid_dir/ca-$org.pid" "fabric-ca-server"; }
  done
  for org in regulator enterprise $(added_orgs_ever); do
    [ -f "$pid_dir/peer-$org.pid" ] && { log "stopping $org peer"; stop_pid "$pid_dir/peer-$org.pid" "peer node start"; }
  done
  for f in "$pid_dir"/orderer*.pid; do
    [ -f "$f" ] && { log "stopping $(basename "$f" .pid)"; stop_pid "$f" "orderer"; }
  done
  if [ "$wipe" = "--wipe" ]; then
    # The test servers keep their data under the run directory too: stop them before it goes.
    bash "$here/services.sh" stop >/dev/null 2>&1 || true
    bash "$here/stack.sh" down >/dev/null 2>&1 || true
    log "wiping $LEDGER_RUN_DIR"
    pg_clusters_wipe
    rm -rf "$LEDGER_RUN_DIR"
  fi
  log "network down"
}

cmd_peer_up() {
  local org=${1:-}
  case "$org" in enterprise|regulator) ;; *) die "usage: network.sh peer-up enterprise|regulator" ;; esac
  require_binaries
  [ -f "$LEDGER_RUN_DIR/peers/$org/core.yaml" ] || die "no network in $LEDGER_RUN_DIR: run 'network.sh up' first"
  start_peer "$org"
  wait_http_ok "http://127.0.0.1:$(org_peer_ops_port "$org")/healthz" 60 "$log_dir/peer-$org.log"
  log "$org peer up (pid $(cat "$pid_dir/peer-$org.pid"))"
}

cmd_status() {
  local rc=0 i orderers=() ops=()
  for i in $(orderer_ids); do orderers+=("orderer$i"); ops+=("orderer$i $(orderer_ops_port "$i")"); done
  for p in "${orderers[@]}" peer-enterprise peer-regulator chaincode-enterprise chaincode-regulator ca-enterprise ca-regulator \
    $(for o in $(added_orgs); do echo "peer-$o chaincode-$o ca-$o"; done); do
    if pid_alive "$pid_dir/$p.pid"; then
      printf '%-21s running  pid %s\n' "$p" "$(cat "$pid_dir/$p.pid")"
    else
      printf '%-21s stopped\n' "$p"
      case $p in orderer*|peer-*|ca-*) rc=1 ;; esac
    fi
  done
  for u in "${ops[@]}" "peer-enterprise $ENTERPRISE_PEER_OPS_PORT" "peer-regulator $REGULATOR_PEER_OPS_PORT" "ca-enterprise $ENTERPRISE_CA_OPS_PORT" "ca-regulator $REGULATOR_CA_OPS_PORT"; do
    set -- $u
    printf '%-21s /healthz %s\n' "$1" "$(curl -fsS "http://127.0.0.1:$2/healthz" 2>/dev/null || echo unreachable)"
  done
  return $rc
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down "${2:-}" ;;
  status) cmd_status ;;
  peer-up) cmd_peer_up "${2:-}" ;;
  generate) cmd_generate ;;
  # Used by org-add.sh for the org it adds (its registry entry must exist).
  start-org) require_binaries; mkdir -p "$pid_dir" "$log_dir"; render_peer_config "${2:?usage: $0 start-org <name>}"; start_org_nodes "$2" ;;
  *) echo "usage: $0 up | down [--wipe] | status | peer-up enterprise|regulator | generate | start-org <name>" >&2; exit 2 ;;
esac
