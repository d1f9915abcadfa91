# Shared settings and helpers for the shell scripts. Every variable below can be overridden from
# the environment; README.md documents each one.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

: "${FABRIC_HOME:=${XDG_CACHE_HOME:-$HOME/.cache}/compliance-ledger/fabric}"
: "${LEDGER_RUN_DIR:=${XDG_STATE_HOME:-$HOME/.local/state}/compliance-ledger/run}"
: "${LEDGER_CHANNEL:=compliance}"
: "${LEDGER_CHAINCODE:=compliance}"
: "${LEDGER_BATCH_TIMEOUT:=250ms}"
: "${LEDGER_CHAINCODE_LOG_LEVEL:=WARNING}"
: "${LEDGER_PORT_OFFSET:=0}"   # added to every network port below: runs several networks side by side
: "${ORDERER_PORT:=$((7050 + LEDGER_PORT_OFFSET))}"
: "${ORDERER_ADMIN_PORT:=$((7053 + LEDGER_PORT_OFFSET))}"
: "${ORDERER_OPS_PORT:=$((8443 + LEDGER_PORT_OFFSET))}"
# The other orderers (orderer3 only with LEDGER_ORDERING=bft). Their last two digits (55–62,
# 70–73) are used by no other port here, so networks LEDGER_PORT_OFFSET steps of 100 apart never
# share one.
: "${ORDERER1_PORT:=$((7055 + LEDGER_PORT_OFFSET))}"
: "${ORDERER1_ADMIN_PORT:=$((7059 + LEDGER_PORT_OFFSET))}"
: "${ORDERER1_OPS_PORT:=$((8470 + LEDGER_PORT_OFFSET))}"
: "${ORDERER2_PORT:=$((7056 + LEDGER_PORT_OFFSET))}"
: "${ORDERER2_ADMIN_PORT:=$((7060 + LEDGER_PORT_OFFSET))}"
: "${ORDERER2_OPS_PORT:=$((8471 + LEDGER_PORT_OFFSET))}"
: "${ORDERER3_PORT:=$((7057 + LEDGER_PORT_OFFSET))}"
: "${ORDERER3_ADMIN_PORT:=$((7061 + LEDGER_PORT_OFFSET))}"
: "${ORDERER3_OPS_PORT:=$((8472 + LEDGER_PORT_OFFSET))}"
: "${ENTERPRISE_PEER_PORT:=$((7051 + LEDGER_PORT_OFFSET))}"
: "${ENTERPRISE_PEER_CC_PORT:=$((7052 + LEDGER_PORT_OFFSET))}"
: "${ENTERPRISE_PEER_OPS_PORT:=$((9444 + LEDGER_PORT_OFFSET))}"
: "${REGULATOR_PEER_PORT:=$((9051 + LEDGER_PORT_OFFSET))}"
: "${REGULATOR_PEER_CC_PORT:=$((9052 + LEDGER_PORT_OFFSET))}"
: "${REGULATOR_PEER_OPS_PORT:=$((9445 + LEDGER_PORT_OFFSET))}"
: "${ENTERPRISE_CHAINCODE_PORT:=$((9999 + LEDGER_PORT_OFFSET))}"
: "${ENTERPRISE_CHAINCODE_STANDBY_PORT:=$((9998 + LEDGER_PORT_OFFSET))}"
: "${REGULATOR_CHAINCODE_PORT:=$((9997 + LEDGER_PORT_OFFSET))}"
: "${REGULATOR_CHAINCODE_STANDBY_PORT:=$((9996 + LEDGER_PORT_OFFSET))}"
: "${ENTERPRISE_CA_PORT:=$((7054 + LEDGER_PORT_OFFSET))}"
: "${ENTERPRISE_CA_OPS_PORT:=$((9447 + LEDGER_PORT_OFFSET))}"
: "${REGULATOR_CA_PORT:=$((8054 + LEDGER_PORT_OFFSET))}"
: "${REGULATOR_CA_OPS_PORT:=$((9448 + LEDGER_PORT_OFFSET))}"
export LEDGER_PORT_OFFSET FABRIC_HOME LEDGER_RUN_DIR LEDGER_CHANNEL LEDGER_CHAINCODE LEDGER_BATCH_TIMEOUT LEDGER_CHAINCODE_LOG_LEVEL \
  ORDERER_PORT ORDERER_ADMIN_PORT ORDERER_OPS_PORT ORDERER1_PORT ORDERER1_ADMIN_PORT ORDERER1_OPS_PORT \
  ORDERER2_PORT ORDERER2_ADMIN_PORT ORDERER2_OPS_PORT ORDERER3_PORT ORDERER3_ADMIN_PORT ORDERER3_OPS_PORT \
  ENTERPRISE_PEER_PORT ENTERPRISE_PEER_CC_PORT ENTERPRISE_PEER_OPS_PORT \
  REGULATOR_PEER_PORT REGULATOR_PEER_CC_PORT REGULATOR_PEER_OPS_PORT \
  ENTERPRISE_CHAINCODE_PORT ENTERPRISE_CHAINCODE_STANDBY_PORT REGULATOR_CHAINCODE_PORT REGULATOR_CHAINCODE_STANDBY_PORT \
  ENTERPRISE_CA_PORT ENTERPRISE_CA_OPS_PORT REGULATOR_CA_PORT REGULATOR_CA_OPS_PORT
export PATH="$FABRIC_HOME/bin:$PATH"

crypto_dir="$LEDGER_RUN_DIR/crypto"
pid_dir="$LEDGER_RUN_DIR/pids"
log_dir="$LEDGER_RUN_DIR/logs"
orderer_org_dir="$crypto_dir/ordererOrganizations/orderer.ledger.local"
# cryptogen gives every orderer of the org a TLS certificate from the same TLS CA.
orderer_tls_ca="$orderer_org_dir/orderers/orderer0.orderer.ledger.local/tls/ca.crt"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

# The ordering service: LEDGER_ORDERING=raft (three etcdraft nodes, the default) or bft (four
# SmartBFT nodes). A network keeps the kind it was created with (config/ordering in the run
# directory): the consenters are in its genesis block.
ordering_mode() {
  local recorded="$LEDGER_RUN_DIR/config/ordering"
  if [ -f "$recorded" ]; then cat "$recorded"; return; fi
  case "${LEDGER_ORDERING:-raft}" in
    raft | bft) echo "${LEDGER_ORDERING:-raft}" ;;
    *) die "LEDGER_ORDERING=${LEDGER_ORDERING} is not an ordering service: use raft (three Raft orderers) or bft (four SmartBFT orderers)" ;;
  esac
}
# Raft tolerates f crashed nodes with 2f+1, BFT f faulty ones with 3f+1; here f = 1.
orderer_count() { case "$(ordering_mode)" in bft) echo 4 ;; *) echo 3 ;; esac; }
orderer_ids() { seq 0 $(($(orderer_count) - 1)); }
orderer_port() { local v="ORDERER$1_PORT"; [ "$1" = 0 ] && v=ORDERER_PORT; echo "${!v}"; }
orderer_admin_port() { local v="ORDERER$1_ADMIN_PORT"; [ "$1" = 0 ] && v=ORDERER_ADMIN_PORT; echo "${!v}"; }
orderer_ops_port() { local v="ORDERER$1_OPS_PORT"; [ "$1" = 0 ] && v=ORDERER_OPS_PORT; echo "${!v}"; }
orderer_node_dir() { echo "$orderer_org_dir/orderers/orderer$1.orderer.ledger.local"; }

# Sets orderer_args (peer CLI) to the first orderer that answers its /healthz. Any consenter takes
# a transaction or a config update (Raft forwards it to its leader, SmartBFT to the others), so a
# stopped orderer only costs the next one's turn.
use_live_orderer() {
  local i
  for i in $(orderer_ids); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$(orderer_ops_port "$i")/healthz" 2>/dev/null; then
      orderer_args=(-o "127.0.0.1:$(orderer_port "$i")" --ordererTLSHostnameOverride "orderer$i.orderer.ledger.local" --tls --cafile "$orderer_tls_ca")
      return 0
    fi
  done
  die "no orderer answers /healthz (ports $(for i in $(orderer_ids); do printf '%s ' "$(orderer_ops_port "$i")"; done)); run 'bash scripts/network.sh up'"
}

# Enterprises added to the running network with scripts/org-add.sh: each has a registry entry
# $LEDGER_RUN_DIR/orgs/<name>.env holding <NAME>_MSP, its ports (<NAME>_PEER_PORT, …, named like
# the first two orgs' variables) and <NAME>_STATUS (member, or removed once offboarded).
orgs_dir="$LEDGER_RUN_DIR/orgs"
for _org_env in "$orgs_dir"/*.env; do
  # shellcheck disable=SC1090
  [ -f "$_org_env" ] && { set -a; source "$_org_env"; set +a; }
done
unset _org_env
# Every org ever added, members or not, by name; the members only; the channel's peer orgs.
added_orgs_ever() { [ -d "$orgs_dir" ] && find "$orgs_dir" -maxdepth 1 -name '*.env' -printf '%f\n' | sed 's/\.env$//' | sort; return 0; }
added_orgs() { local o; for o in $(added_orgs_ever); do [ "$(org_var "$o" STATUS)" = member ] && echo "$o"; done; return 0; }
peer_orgs() { echo enterprise regulator $(added_orgs); }

# Org name → MSP id, peer port, directories. <NAME>_<SETTING> is the org's variable for a setting.
org_var() {
  local v; v="$(echo "$1" | tr a-z A-Z)_$2"
  [ -n "${!v:-}" ] || die "unknown org $1 (no $v): enterprise, regulator, or an org added with scripts/org-add.sh"
  echo "${!v}"
}
org_msp() { case "$1" in enterprise) echo EnterpriseMSP ;; regulator) echo RegulatorMSP ;; *) org_var "$1" MSP ;; esac; }
org_peer_port() { org_var "$1" PEER_PORT; }
org_peer_ops_port() { org_var "$1" PEER_OPS_PORT; }
# Each org runs its own chaincode server (two ports: active and standby for upgrades).
org_cc_port() { org_var "$1" CHAINCODE_PORT; }
org_cc_standby_port() { org_var "$1" CHAINCODE_STANDBY_PORT; }
org_dir() { echo "$crypto_dir/peerOrganizations/$1.ledger.local"; }
peer_node_dir() { echo "$(org_dir "$1")/peers/peer0.$1.ledger.local"; }

# Replaces ${NAME} with the environment's value; an unset name is an error, never an empty string.
render() {
  RENDER_SOURCE=$1 perl -pe 's/\$\{(\w+)\}/exists $ENV{$1} ? $ENV{$1} : die("render: \${$1} in $ENV{RENDER_SOURCE} is not set\n")/ge' "$1" > "$2"
}

# Environment for the peer CLI acting as an org's admin.
peer_admin_env() {
  local org=$1
  export FABRIC_CFG_PATH="$LEDGER_RUN_DIR/peers/$org"
  export CORE_PEER_LOCALMSPID
  CORE_PEER_LOCALMSPID=$(org_msp "$org")
  export CORE_PEER_MSPCONFIGPATH="$(org_dir "$org")/users/Admin@$org.ledger.local/msp"
  export CORE_PEER_ADDRESS="127.0.0.1:$(org_peer_port "$org")"
  export CORE_PEER_TLS_ENABLED=true
  export CORE_PEER_TLS_ROOTCERT_FILE="$(peer_node_dir "$org")/tls/ca.crt"
}

# Alive means running: a killed process its parent has not reaped yet (a zombie) does not count.
pid_alive() {
  [ -f "$1" ] || return 1
  local pid; pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# Waits until a URL answers 200, or fails after $2 seconds with the log file named in $3.
wait_http_ok() {
  local url=$1 timeout=$2 logf=${3:-} i=0
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -ge $((timeout * 5)) ]; then
      [ -n "$logf" ] && tail -n 30 "$logf" >&2
      die "$url did not answer within ${timeout}s${logf:+ (log: $logf)}"
    fi
    sleep 0.2
  done
}

wait_tcp() {
  local port=$1 timeout=$2 i=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    i=$((i + 1)); [ "$i" -ge $((timeout * 5)) ] && return 1; sleep 0.2
  done
}

# Waits until every member org's peer sees, through gossip, the peer of every member org, each with
# chaincode $1 installed when $1 is given. A Fabric gateway finds endorsers through its own peer's
# discovery: until gossip has spread a peer (after an onboarding, a restart or a new definition), a
# transaction that needs its org fails with "failed to find any endorsing peers", every process healthy.
wait_discovery() {
  local chaincode=${1:-} orgs want org seen missing i t0
  t0=$(date +%s)
  orgs=($(peer_orgs))
  want=$(for org in "${orgs[@]}"; do org_msp "$org"; done | sort -u)
  for org in "${orgs[@]}"; do
    local admin; admin="$(org_dir "$org")/users/Admin@$org.ledger.local/msp"
    for i in $(seq 1 120); do
      seen=$(discover --peerTLSCA "$(peer_node_dir "$org")/tls/ca.crt" --userKey "$admin/keystore/priv_sk" \
        --userCert "$admin/signcerts/Admin@$org.ledger.local-cert.pem" --MSP "$(org_msp "$org")" \
        peers --channel "$LEDGER_CHANNEL" --server "127.0.0.1:$(org_peer_port "$org")" 2>/dev/null \
        | jq -r --arg cc "$chaincode" '.[] | select($cc == "" or ((.Chaincodes // []) | index($cc) != null)) | .MSPID' 2>/dev/null | sort -u || true)
      missing=$(comm -23 <(echo "$want") <(echo "$seen") | tr '\n' ' ')
      [ -z "${missing// /}" ] && break
      [ "$i" = 1 ] && log "waiting for the $org peer to discover ${missing% }${chaincode:+ with $chaincode} (gossip)"
      [ "$i" = 120 ] && die "the $org peer still does not see ${missing% }${chaincode:+ with $chaincode} after 120s (logs: $log_dir/peer-*.log)"
      sleep 1
    done
  done
  log "the ${#orgs[@]} peers see each other${chaincode:+ with $chaincode} (discovery) after $(( $(date +%s) - t0 ))s"
}

# Stops a process we started, by its pid file, and only if that pid still runs the expected program.
stop_pid() {
  local pidf=$1 expect=$2 pid
  [ -f "$pidf" ] || return 0
  pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$expect"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
}

# The services of `npm start` (scripts/stack.sh), offset like the network ports. Not exported: stack.sh
# hands each service its own port, so other scripts and tests keep the services' own defaults.
: "${GATEWAY_PORT:=$((8080 + LEDGER_PORT_OFFSET))}"            # the enterprise's gateway
: "${REGULATOR_GATEWAY_PORT:=$((8081 + LEDGER_PORT_OFFSET))}"  # the regulator's gateway
: "${INDEXER_HTTP_PORT:=$((9464 + LEDGER_PORT_OFFSET))}"                      # the regulator's indexer
: "${ENTERPRISE_INDEXER_HTTP_PORT:=$((9467 + LEDGER_PORT_OFFSET))}"           # the enterprise's indexer
: "${ENTERPRISE_INDEXER_PGLITE_SOCKET_PORT:=$((5435 + LEDGER_PORT_OFFSET))}"  # its PGlite served to the enterprise gateway (pglite mode)
: "${INGEST_HTTP_PORT:=$((9465 + LEDGER_PORT_OFFSET))}"
: "${REPORTER_HTTP_PORT:=$((9466 + LEDGER_PORT_OFFSET))}"
: "${INGEST_MQTT_PORT:=$((1883 + LEDGER_PORT_OFFSET))}"
: "${LEDGER_STACK_PG_PORT:=$((5433 + LEDGER_PORT_OFFSET))}"   # only when the gateway needs PostgreSQL for its state
: "${LEDGER_DEMO_SITE:=site-1}"
