#!/usr/bin/env bash
# The services of `npm start` on top of the network, each a background process with its pid file
# ($LEDGER_RUN_DIR/pids/<service>.pid), its log ($LEDGER_RUN_DIR/logs/<service>.log) and its state
# under $LEDGER_RUN_DIR, on ports offset by LEDGER_PORT_OFFSET (scripts/lib.sh):
#
#   indexer            the channel as the regulator's peer has it → PGlite mirror
#                      ($LEDGER_RUN_DIR/indexer-pglite)                       /healthz :INDEXER_HTTP_PORT
#   indexer-enterprise the channel as the enterprise's own peer has it → PGlite mirror
#                      ($LEDGER_RUN_DIR/gateway/indexer-pglite)     /healthz :ENTERPRISE_INDEXER_HTTP_PORT
#   gateway            the enterprise's REST API (GATEWAY_ORG=enterprise): enterprise wallet and CA
#                      registrar only, indexer-enterprise's mirror for the supervision screen's
#                      queries (its own enterprise's records)               :GATEWAY_PORT (/docs/)
#   gateway-regulator  the regulator's REST API (GATEWAY_ORG=regulator): regulator wallet and CA
#                      registrar only, the indexer's mirror for its queries   :REGULATOR_GATEWAY_PORT
#   ingest   embedded MQTT broker :INGEST_MQTT_PORT → risk model → signed alarms → ledger
#                                                                           /healthz :INGEST_HTTP_PORT
#   org-<name>-indexer, org-<name>-gateway
#            for each enterprise onboarded with org-add.sh (a member now): its own mirror, from its own
#            peer, and its own gateway (orgs/<name>/gateway.env), on the spare ports of its block
#            (README, Many enterprises): + 0 the mirror's PGlite socket, + 8 the gateway, + 9 the
#            mirror's /healthz
#
#   stack.sh up      start what is not running (the network must be up, the chaincode deployed)
#   stack.sh up --org <name>
#                    only an onboarded enterprise's mirror and gateway: after `npm run org:add` while
#                    the rest of the stack runs, nothing else is started or waited for
#   stack.sh down    stop what this script started, by pid file; state is kept
#   stack.sh status  what runs, and each /healthz; exit 1 when a service is down
#
# Each org reads the ledger from its own peer: the enterprise's queries do not rest on the
# regulator's database, nor the regulator's on the enterprise's.
# Default (pglite): each indexer mirrors into its own PGlite and serves it over the PostgreSQL
# protocol on 127.0.0.1 (INDEXER_PGLITE_SOCKET_PORT, ENTERPRISE_INDEXER_PGLITE_SOCKET_PORT; one
# connection each; indexer/src/pglite-socket.ts). Each gateway's DATABASE_URL points at its own org's
# socket with a pool of one, for its queries and, in the same database (table gateway_idempotency),
# its idempotency records: no database server runs.
# LEDGER_STACK_DATABASE=postgres runs a private PostgreSQL (scripts/pg-cluster.sh, cluster "stack", port
# LEDGER_STACK_PG_PORT) with a database per indexer and per gateway's idempotency records instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/pg-cluster.sh
source "$here/pg-cluster.sh"

: "${LEDGER_STACK_DATABASE:=pglite}"
: "${INDEXER_PGLITE_SOCKET_PORT:=$((5434 + LEDGER_PORT_OFFSET))}"
services=(indexer indexer-enterprise gateway gateway-regulator ingest reporter)
# The onboarded enterprises' own services (org_*_port below).
for _org in $(added_orgs); do services+=("org-$_org-indexer" "org-$_org-gateway"); done
unset _org
stack_dir="$LEDGER_RUN_DIR/stack"
jwt_secret_file="$LEDGER_RUN_DIR/gateway/jwt-hs256.secret"
# The simulated devices' own keys, kept apart from ingest's folder: ingest reads only the public
# registry and its own service key.
device_keys="$LEDGER_RUN_DIR/devices/device-keys.json"
device_registry="$LEDGER_RUN_DIR/ingest/devices.json"
ingest_service_key="$LEDGER_RUN_DIR/ingest/ingest-key.json"
# The enterprise credential office's key: signs worker codes; the enterprise gateway holds it (README, Who holds which key).
credential_office_key="$LEDGER_RUN_DIR/gateway/credential-office-key.json"
ingest_identity="$LEDGER_RUN_DIR/users/enterprise/ingest-gw"
# The reporter sweeps as its own service identity (ledger.role=sweeper) and pushes signed events to
# the regulator's subscribers; its push API takes this bearer token.
reporter_identity="$LEDGER_RUN_DIR/users/enterprise/reporter-sweeper"
reporter_token_file="$LEDGER_RUN_DIR/reporter/push-api.token"
pg_url_base="postgres://postgres@127.0.0.1:$LEDGER_STACK_PG_PORT"

# An onboarded org's block of ten ports begins one below its peer's (org-add.sh); + 0, + 8 and + 9 are spare.
org_block() { echo $(($(org_peer_port "$1") - 1)); }
org_socket_port() { org_block "$1"; }
org_gateway_port() { echo $(($(org_block "$1") + 8)); }
org_indexer_http_port() { echo $(($(org_block "$1") + 9)); }
# org-<name>-gateway → <name>
org_of_service() { local n=${1#org-}; echo "${n%-*}"; }

health_url() {
  case "$1" in
    org-*-indexer) echo "http://127.0.0.1:$(org_indexer_http_port "$(org_of_service "$1")")/healthz" ;;
    org-*-gateway) echo "http://127.0.0.1:$(org_gateway_port "$(org_of_service "$1")")/healthz" ;;
    indexer) echo "http://127.0.0.1:$INDEXER_HTTP_PORT/healthz" ;;
    indexer-enterprise) echo "http://127.0.0.1:$ENTERPRISE_INDEXER_HTTP_PORT/healthz" ;;
    gateway) echo "http://127.0.0.1:$GATEWAY_PORT/healthz" ;;
    gateway-regulator) echo "http://127.0.0.1:$REGULATOR_GATEWAY_PORT/healthz" ;;
    ingest) echo "http://127.0.0.1:$INGEST_HTTP_PORT/healthz" ;;
    reporter) echo "http://127.0.0.1:$REPORTER_HTTP_PORT/healthz" ;;
  esac
}
# Each service's source (main_of); what node runs is its compiled form (entry_of).
pglite_server="$repo_root/node_modules/@electric-sql/pglite-socket/dist/scripts/server.js"
main_of() {
  case "$1" in
    gateway-regulator | org-*-gateway) echo "$repo_root/gateway/src/main.ts" ;;
    org-*-indexer) echo "$repo_root/indexer/src/main.ts" ;;
    indexer-enterprise) echo "$repo_root/indexer/src/main.ts" ;;
    # Started by earlier versions of this script (a PGlite for the enterprise gateway's idempotency
    # records): still stopped by `down`, so an upgrade does not leave it holding its port.
    gateway-state) echo "$pglite_server" ;;
    *) echo "$repo_root/$1/src/main.ts" ;;
  esac
}
# The gateways stream evidence of up to 2 GiB: a small young generation and two malloc arenas keep
# the buffers passing through from growing the process (gateway README, Memory). The flags are
# gateway/package.json's `config`, which its start script and the tests' gateway process read too.
# Read once, at the first gateway's launch (in the caller's shell, so that the next launch keeps them).
gateway_node_flags="" gateway_malloc_arenas=""
load_gateway_config() {
  [ -n "$gateway_malloc_arenas" ] && return 0
  { read -r gateway_malloc_arenas && read -r gateway_node_flags; } < <(node -e \
    "const c = require('$repo_root/gateway/package.json').config; console.log(c.mallocArenaMax); console.log(c.nodeFlags)")
}
dir_of() { case "$1" in gateway-* | org-*-gateway) echo gateway ;; indexer-* | org-*-indexer) echo indexer ;; *) echo "$1" ;; esac; }
# A package's src/main.ts runs as its dist/main.js, which cmd_up builds first (tsc -b), as the
# gateway's tests run it: under tsx, its loader thread and the esbuild child cost each service
# 30–100 MiB more resident memory (bench/RESULTS.md, stack memory).
entry_of() { local m; m=$(main_of "$1"); case "$m" in */src/main.ts) echo "${m%/src/main.ts}/dist/main.js" ;; *) echo "$m" ;; esac; }
# What service_alive and stop_pid look for in a service's command line: for a package, its folder,
# which a process started from src/main.ts by an earlier version of this script also has.
cmdline_of() { local m; m=$(main_of "$1"); case "$m" in */src/main.ts) echo "${m%src/main.ts}" ;; *) echo "$m" ;; esac; }
service_alive() { pid_alive "$pid_dir/$1.pid" && tr '\0' ' ' <"/proc/$(cat "$pid_dir/$1.pid")/cmdline" 2>/dev/null | grep -q -- "$(cmdline_of "$1")"; }

# --- the private PostgreSQL (see the header) ----------------------------------------------------
needs_postgres() { [ "$LEDGER_STACK_DATABASE" = postgres ]; }
mirror_url="postgres://postgres@127.0.0.1:$INDEXER_PGLITE_SOCKET_PORT/postgres"
enterprise_mirror_url="postgres://postgres@127.0.0.1:$ENTERPRISE_INDEXER_PGLITE_SOCKET_PORT/postgres"

start_postgres() {
  local bin; bin=$(pg_bin)
  pg_cluster_start stack "$LEDGER_STACK_PG_PORT"
  local org dbs=(ledger_indexer ledger_indexer_enterprise gateway_state gateway_state_regulator)
  for org in $(added_orgs); do dbs+=("ledger_indexer_org_$org" "gateway_state_org_$org"); done
  for db in "${dbs[@]}"; do
    pg_as_owner "$bin/psql -h 127.0.0.1 -p $LEDGER_STACK_PG_PORT -U postgres -tAc \"SELECT 1 FROM pg_database WHERE datname='$db'\"" | grep -q 1 \
      || pg_as_owner "$bin/createdb -h 127.0.0.1 -p $LEDGER_STACK_PG_PORT -U postgres $db"
  done
}

stop_postgres() { pg_cluster_stop stack; }

# --- one-time material: JWT secret, device keys, ingest's service key and Fabric identity ---------
prepare() {
  mkdir -p "$pid_dir" "$log_dir" "$stack_dir" "$(dirname "$jwt_secret_file")" "$(dirname "$device_keys")" "$(dirname "$device_registry")"
  if [ ! -s "$jwt_secret_file" ]; then
    log "generating the gateway's HS256 JWT secret for the demo: $jwt_secret_file"
    (umask 077; openssl rand -hex 32 >"$jwt_secret_file")
  fi
  if [ ! -s "$device_keys" ]; then
    log "generating the simulated site's device keys: $device_keys"
    (umask 077; cd "$repo_root/ingest" && npx tsx tools/simulator.ts keys --out "$device_keys" --registry "$device_registry" --site "$LEDGER_DEMO_SITE" >/dev/null)
  fi
  if [ ! -s "$device_registry" ]; then
    (cd "$repo_root/ingest" && npx tsx tools/simulator.ts registry --keys "$device_keys" --out "$device_registry")
  fi
  if [ ! -s "$ingest_service_key" ]; then
    log "generating ingest's own service key (signs gradings; registered as kind ingest_service): $ingest_service_key"
    (umask 077; cd "$repo_root/ingest" && npx tsx tools/simulator.ts service-key --out "$ingest_service_key" --service-id "ingest-$LEDGER_DEMO_SITE" >/dev/null)
  fi
  if [ ! -s "$credential_office_key" ]; then
    log "generating the credential office's key (signs worker codes; registered as kind credential_office): $credential_office_key"
    node "$repo_root/gate-verifier/bin/gate-verify.mjs" office-key --office-id "credential-office-$LEDGER_DEMO_SITE" --out "$credential_office_key" >/dev/null
  fi
  if [ ! -f "$ingest_identity/msp/signcerts/cert.pem" ]; then
    log "enrolling ingest's Fabric identity ingest-gw (ledger.role=device_gateway) at the enterprise CA"
  fi
  bash "$here/enroll-user.sh" enterprise ingest-gw device_gateway >/dev/null
  if [ ! -f "$reporter_identity/msp/signcerts/cert.pem" ]; then
    log "enrolling the reporter's Fabric identity reporter-sweeper (ledger.role=sweeper) at the enterprise CA"
  fi
  bash "$here/enroll-user.sh" enterprise reporter-sweeper sweeper >/dev/null
  if [ ! -s "$reporter_token_file" ]; then
    log "generating the reporter's push API token for the demo: $reporter_token_file"
    mkdir -p "$(dirname "$reporter_token_file")"
    (umask 077; openssl rand -hex 24 >"$reporter_token_file")
  fi
}

# --- services -------------------------------------------------------------------------------------
# launch <service> <what it is, for the log> <VAR=value ...>
launch() {
  local name=$1 what=$2; shift 2
  local pidf="$pid_dir/$name.pid" logf="$log_dir/$name.log"
  if service_alive "$name"; then log "$name already running (pid $(cat "$pidf"))"; return 0; fi
  log "starting $what"
  # Read here, not in the subshell: it must exec the service at once, since the pid file names the
  # subshell and wait_healthy takes a command line without the service's folder for a dead service.
  local node_options="" memory_env=""
  case "$name" in gateway | gateway-regulator | org-*-gateway)
    load_gateway_config
    node_options=$gateway_node_flags memory_env="MALLOC_ARENA_MAX=$gateway_malloc_arenas" ;;
  esac
  (
    cd "$repo_root/$(dir_of "$name")"
    # Only what is given here: no DATABASE_URL or broker URL leaks in from the caller's shell.
    # shellcheck disable=SC2086 # the flags and settings are words
    exec env -u DATABASE_URL -u GATEWAY_STATE_DATABASE_URL -u INGEST_MQTT_URL -u PGLITE_DIR \
      LEDGER_RUN_DIR="$LEDGER_RUN_DIR" LEDGER_CONNECTION_PROFILE="$LEDGER_RUN_DIR/connection-profile.json" FABRIC_HOME="$FABRIC_HOME" \
      "$@" $memory_env nohup node $node_options "$(entry_of "$name")" ${LAUNCH_ARGS:-} >>"$logf" 2>&1
  ) &
  echo $! >"$pidf"
}

wait_healthy() {
  local name=$1 timeout=$2 url i=0; url=$(health_url "$name")
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if ! service_alive "$name"; then
      tail -n 30 "$log_dir/$name.log" >&2
      die "$name exited during start (log: $log_dir/$name.log)"
    fi
    i=$((i + 1))
    if [ "$i" -ge $((timeout * 5)) ]; then
      tail -n 30 "$log_dir/$name.log" >&2
      die "$url did not answer 200 within ${timeout}s (log: $log_dir/$name.log)"
    fi
    sleep 0.2
  done
  log "$name healthy: $url"
}

# start_indexer <service> <org> <socket port> <HTTP port> <PGlite dir> <PostgreSQL database> [VAR=value …]
# <org> is the profile's org (enterprise or regulator); an onboarded org is the enterprise of its own profile.
start_indexer() {
  local name=$1 org=$2 socket=$3 http=$4 dir=$5 pgdb=$6; shift 6
  local db=(INDEXER_PGLITE_SOCKET_PORT="$socket")
  local where="PGlite in $dir, served on 127.0.0.1:$socket"
  if needs_postgres; then db=(DATABASE_URL="$pg_url_base/$pgdb"); where="PostgreSQL 127.0.0.1:$LEDGER_STACK_PG_PORT/$pgdb"; fi
  launch "$name" "$name, from its org's own peer ($where), /healthz on 127.0.0.1:$http" ${db[@]+"${db[@]}"} INDEXER_HTTP_PORT="$http" INDEXER_ORG="$org" PGLITE_DIR="$dir" "$@"
}

# One gateway per org (GATEWAY_ORG): each reads only its own org's registrar secret and keeps only
# its own org's wallet, so no process of the stack holds both orgs' secrets (README, Who holds which key).
start_gateway() {
  local db=()
  if needs_postgres; then
    db=(DATABASE_URL="$pg_url_base/ledger_indexer_enterprise" GATEWAY_STATE_DATABASE_URL="$pg_url_base/gateway_state")
  else
    # As the regulator's gateway on its indexer: one connection to the enterprise indexer's socket, for
    # the screen's queries and the idempotency records; the live alarm stream polls it.
    db=(DATABASE_URL="$enterprise_mirror_url" DATABASE_POOL_MAX=1 GATEWAY_ALARM_STREAM_LISTEN=0)
  fi
  launch gateway "the enterprise's gateway on http://127.0.0.1:$GATEWAY_PORT (embedded blockstore: evidence in one local copy, not replicated to the regulator; wallet in $LEDGER_RUN_DIR/gateway/wallet)" ${db[@]+"${db[@]}"} GATEWAY_ORG=enterprise GATEWAY_PORT="$GATEWAY_PORT" GATEWAY_HOST=127.0.0.1 GATEWAY_PUBLIC_URL="http://127.0.0.1:$GATEWAY_PORT" \
    GATEWAY_JWT_HS256_SECRET="$(cat "$jwt_secret_file")" \
    FABRIC_CA_CLIENT="$FABRIC_HOME/bin/fabric-ca-client" GATEWAY_CA_REGISTRAR_ID=admin \
    GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE="$LEDGER_RUN_DIR/ca/enterprise/bootstrap-password" \
    GATEWAY_CREDENTIAL_OFFICE_KEY_FILE="$credential_office_key" \
    GATEWAY_WALLET_DIR="$LEDGER_RUN_DIR/gateway/wallet" GATEWAY_BLOCKSTORE_DIR="$LEDGER_RUN_DIR/gateway/blockstore"
}

# The embedded mode keeps evidence in one local blockstore (nothing is replicated): the regulator's
# gateway reads the same folder, so its auditors can re-check the evidence the ledger records. With
# kubo, each org runs its own node and the regulator's indexer pins every recorded CID (README).
start_regulator_gateway() {
  local db=()
  if needs_postgres; then
    db=(DATABASE_URL="$pg_url_base/ledger_indexer" GATEWAY_STATE_DATABASE_URL="$pg_url_base/gateway_state_regulator")
  else
    # The indexer's PGlite socket takes one connection; this gateway's idempotency records go there too,
    # and the live alarm stream polls it (no second connection to LISTEN on).
    db=(DATABASE_URL="$mirror_url" DATABASE_POOL_MAX=1 GATEWAY_ALARM_STREAM_LISTEN=0)
  fi
  launch gateway-regulator "the regulator's gateway on http://127.0.0.1:$REGULATOR_GATEWAY_PORT (wallet in $LEDGER_RUN_DIR/gateway-regulator/wallet)" ${db[@]+"${db[@]}"} GATEWAY_ORG=regulator GATEWAY_PORT="$REGULATOR_GATEWAY_PORT" GATEWAY_HOST=127.0.0.1 GATEWAY_PUBLIC_URL="http://127.0.0.1:$REGULATOR_GATEWAY_PORT" \
    GATEWAY_JWT_HS256_SECRET="$(cat "$jwt_secret_file")" GATEWAY_OCR_ENABLED=0 \
    FABRIC_CA_CLIENT="$FABRIC_HOME/bin/fabric-ca-client" GATEWAY_CA_REGISTRAR_ID=admin \
    GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE="$LEDGER_RUN_DIR/ca/regulator/bootstrap-password" \
    GATEWAY_WALLET_DIR="$LEDGER_RUN_DIR/gateway-regulator/wallet" GATEWAY_BLOCKSTORE_DIR="$LEDGER_RUN_DIR/gateway/blockstore"
}

# An onboarded enterprise's mirror and gateway: what orgs/<name>/gateway.env says (its profile, in which it
# is the enterprise; its registrar secret; its wallet and blockstore), its own JWT secret (a token one
# enterprise's gateway signed means nothing to another's), and its own mirror for the screen's queries.
start_org_indexer() {
  local org=$1
  start_indexer "org-$org-indexer" enterprise "$(org_socket_port "$org")" "$(org_indexer_http_port "$org")" \
    "$LEDGER_RUN_DIR/gateway-$org/indexer-pglite" "ledger_indexer_org_$org" LEDGER_CONNECTION_PROFILE="$orgs_dir/$org/connection-profile.json"
}

start_org_gateway() {
  local org=$1 port secret settings=() db=()
  port=$(org_gateway_port "$org") secret="$LEDGER_RUN_DIR/gateway-$org/jwt-hs256.secret"
  [ -f "$orgs_dir/$org/gateway.env" ] || die "$orgs_dir/$org/gateway.env is missing: run 'npm run org:add -- $org' again to finish its onboarding"
  mapfile -t settings < <(grep -E '^[A-Z_]+=' "$orgs_dir/$org/gateway.env")
  if [ ! -s "$secret" ]; then mkdir -p "$(dirname "$secret")"; (umask 077; openssl rand -hex 32 >"$secret"); fi
  if needs_postgres; then
    db=(DATABASE_URL="$pg_url_base/ledger_indexer_org_$org" GATEWAY_STATE_DATABASE_URL="$pg_url_base/gateway_state_org_$org")
  else
    db=(DATABASE_URL="postgres://postgres@127.0.0.1:$(org_socket_port "$org")/postgres" DATABASE_POOL_MAX=1 GATEWAY_ALARM_STREAM_LISTEN=0)
  fi
  launch "org-$org-gateway" "$org's gateway ($(org_msp "$org")) on http://127.0.0.1:$port" "${settings[@]}" ${db[@]+"${db[@]}"} \
    GATEWAY_PORT="$port" GATEWAY_HOST=127.0.0.1 GATEWAY_PUBLIC_URL="http://127.0.0.1:$port" GATEWAY_JWT_HS256_SECRET="$(cat "$secret")" \
    GATEWAY_OCR_ENABLED=0 FABRIC_CA_CLIENT="$FABRIC_HOME/bin/fabric-ca-client" GATEWAY_CA_REGISTRAR_ID=admin
}

start_ingest() {
  launch ingest "ingest: embedded MQTT broker on 127.0.0.1:$INGEST_MQTT_PORT, /healthz on 127.0.0.1:$INGEST_HTTP_PORT" INGEST_DEVICE_REGISTRY_FILE="$device_registry" INGEST_SERVICE_KEY_FILE="$ingest_service_key" INGEST_DATA_DIR="$LEDGER_RUN_DIR/ingest/data" \
    INGEST_EMBEDDED_MQTT_HOST=127.0.0.1 INGEST_EMBEDDED_MQTT_PORT="$INGEST_MQTT_PORT" INGEST_MQTT_CLIENT_ID="compliance-ingest-$LEDGER_PORT_OFFSET" \
    INGEST_HTTP_HOST=127.0.0.1 INGEST_HTTP_PORT="$INGEST_HTTP_PORT" \
    INGEST_FABRIC_CONNECTION_PROFILE="$LEDGER_RUN_DIR/connection-profile.json" INGEST_FABRIC_ORG=enterprise \
    INGEST_FABRIC_IDENTITY_DIR="$ingest_identity"
}

start_reporter() {
  launch reporter "the reporter (sweeper and signed push delivery), /healthz and the push API on 127.0.0.1:$REPORTER_HTTP_PORT" \
    REPORTER_FABRIC_CONNECTION_PROFILE="$LEDGER_RUN_DIR/connection-profile.json" REPORTER_FABRIC_ORG=enterprise \
    REPORTER_FABRIC_IDENTITY_DIR="$reporter_identity" REPORTER_PUSH_DIR="$LEDGER_RUN_DIR/reporter" \
    REPORTER_PUSH_API_TOKEN="$(cat "$reporter_token_file")" REPORTER_HTTP_HOST=127.0.0.1 REPORTER_HTTP_PORT="$REPORTER_HTTP_PORT"
}

cmd_up() {
  [ -f "$LEDGER_RUN_DIR/connection-profile.json" ] || die "no network in $LEDGER_RUN_DIR: run 'bash scripts/network.sh up' and 'bash scripts/deploy-chaincode.sh' first"
  local t0; t0=$(date +%s)
  prepare
  log "building the services (tsc -b; what is up to date is skipped)"
  (cd "$repo_root" && npx tsc -b indexer gateway ingest reporter) || die "the TypeScript build of the services failed (above)"
  if needs_postgres; then start_postgres; else stop_postgres; fi
  start_indexer indexer regulator "$INDEXER_PGLITE_SOCKET_PORT" "$INDEXER_HTTP_PORT" "$LEDGER_RUN_DIR/indexer-pglite" ledger_indexer
  start_indexer indexer-enterprise enterprise "$ENTERPRISE_INDEXER_PGLITE_SOCKET_PORT" "$ENTERPRISE_INDEXER_HTTP_PORT" \
    "$LEDGER_RUN_DIR/gateway/indexer-pglite" ledger_indexer_enterprise
  # The gateways open their databases at start: the indexers (and their sockets) must be up first.
  wait_healthy indexer 120
  wait_healthy indexer-enterprise 120
  start_gateway
  start_regulator_gateway
  start_ingest
  start_reporter
  wait_healthy gateway 180
  wait_healthy gateway-regulator 180
  wait_healthy ingest 120
  wait_healthy reporter 120
  local org orgs=(); mapfile -t orgs < <(added_orgs)
  for org in ${orgs[@]+"${orgs[@]}"}; do start_org_indexer "$org"; done
  for org in ${orgs[@]+"${orgs[@]}"}; do wait_healthy "org-$org-indexer" 120; start_org_gateway "$org"; done
  for org in ${orgs[@]+"${orgs[@]}"}; do wait_healthy "org-$org-gateway" 180; done
  [ ${#orgs[@]} = 0 ] || log "onboarded enterprises: $(for org in "${orgs[@]}"; do printf '%s :%s, ' "$org" "$(org_gateway_port "$org")"; done | sed 's/, $//')"
  log "services up in $(( $(date +%s) - t0 ))s: enterprise gateway :$GATEWAY_PORT, regulator gateway :$REGULATOR_GATEWAY_PORT, indexers :$INDEXER_HTTP_PORT (regulator) :$ENTERPRISE_INDEXER_HTTP_PORT (enterprise), ingest :$INGEST_HTTP_PORT (MQTT :$INGEST_MQTT_PORT), reporter :$REPORTER_HTTP_PORT"
}

cmd_up_org() {
  local org=$1
  [ -f "$LEDGER_RUN_DIR/connection-profile.json" ] || die "no network in $LEDGER_RUN_DIR: run 'bash scripts/network.sh up' and 'bash scripts/deploy-chaincode.sh' first"
  added_orgs | grep -qx -- "$org" || die "$org is not an onboarded enterprise of this network (members: $(added_orgs | tr '\n' ' ')): onboard it with 'npm run org:add -- $org'"
  mkdir -p "$pid_dir" "$log_dir"
  (cd "$repo_root" && npx tsc -b indexer gateway) || die "the TypeScript build of the services failed (above)"
  if needs_postgres; then start_postgres; fi
  start_org_indexer "$org"
  wait_healthy "org-$org-indexer" 120
  start_org_gateway "$org"
  wait_healthy "org-$org-gateway" 180
  log "$org ($(org_msp "$org")): gateway http://127.0.0.1:$(org_gateway_port "$org"), mirror /healthz :$(org_indexer_http_port "$org")"
}

# The services, and those of an org offboarded since they started: no member any more, its pid files remain.
known_services() {
  local f all=("${services[@]}")
  for f in "$pid_dir"/org-*-indexer.pid "$pid_dir"/org-*-gateway.pid; do
    [ -f "$f" ] || continue
    f=$(basename "$f" .pid)
    [[ " ${all[*]} " == *" $f "* ]] || all+=("$f")
  done
  printf '%s\n' "${all[@]}"
}

cmd_down() {
  local i all; mapfile -t all < <(echo gateway-state; known_services)
  for ((i = ${#all[@]} - 1; i >= 0; i--)); do
    local s=${all[$i]}
    [ -f "$pid_dir/$s.pid" ] && { log "stopping $s"; stop_pid "$pid_dir/$s.pid" "$(cmdline_of "$s")"; }
  done
  stop_postgres
  return 0
}

cmd_status() {
  local rc=0 s
  for s in $(known_services); do
    if service_alive "$s"; then
      local health=-; [ -z "$(health_url "$s")" ] || health=$(curl -sS -m 3 -o /dev/null -w '%{http_code}' "$(health_url "$s")" 2>/dev/null || echo unreachable)
      printf '%-18s running  pid %-7s /healthz %s\n' "$s" "$(cat "$pid_dir/$s.pid")" "$health"
    else
      printf '%-18s stopped\n' "$s"; rc=1
    fi
  done
  if pg_cluster_running stack; then printf '%-10s running  127.0.0.1:%s (%s)\n' postgres "$LEDGER_STACK_PG_PORT" "$(pg_cluster_data stack)"; fi
  return $rc
}

case "${1:-}" in
  up)
    case "${2:-}" in
      '') cmd_up ;;
      --org) [ -n "${3:-}" ] || die "usage: $0 up --org <name of an onboarded enterprise>"; cmd_up_org "$3" ;;
      *) echo "usage: $0 up [--org <name>] | down | status" >&2; exit 2 ;;
    esac
    ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up [--org <name>] | down | status" >&2; exit 2 ;;
esac
