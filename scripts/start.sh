#!/usr/bin/env bash
# `npm start`: bootstraps what is missing, brings the network up, deploys the chaincode, proves the
# write path with one heartbeat transaction, starts the services (scripts/stack.sh: indexer,
# gateway, ingest), runs the demo flow (scripts/demo.mts; LEDGER_START_DEMO=0 skips it), prints
# where everything is, and stays up until Ctrl-C, which stops services and network and keeps state.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/pg-cluster.sh
source "$here/pg-cluster.sh"
cd "$repo_root"
: "${LEDGER_START_DEMO:=1}"

boot=$(bash "$here/bootstrap.sh") || die "bootstrap failed (see above)"
unavailable=$(echo "$boot" | sed -n 's/^LEDGER_NETWORK_UNAVAILABLE=//p')
[ -z "$unavailable" ] || die "cannot start without a Fabric network: $unavailable"

stop_all() {
  trap - INT TERM
  echo >&2
  log "stopping the services and the network (state is kept in $LEDGER_RUN_DIR)"
  bash "$here/stack.sh" down || true
  bash "$here/network.sh" down || true
  exit 0
}
# From here on, Ctrl-C stops whatever has been started so far (by pid file), keeping all state.
trap stop_all INT TERM

bash "$here/network.sh" up
# Right after the orderers restart, a freshly started one may not know the Raft leader yet and the
# deployment's approval fails with "SERVICE_UNAVAILABLE -- no Raft leader"; the deployment is
# idempotent, so try again.
for attempt in 1 2 3; do
  bash "$here/deploy-chaincode.sh" && break
  [ "$attempt" = 3 ] && die "the chaincode deployment failed three times (see above)"
  log "the chaincode deployment failed (attempt $attempt of 3); trying again in 5 s"
  sleep 5
done
export LEDGER_CONNECTION_PROFILE="$LEDGER_RUN_DIR/connection-profile.json"

log "demo: recording a heartbeat through both orgs' endorsement"
npx tsx "$repo_root/scripts/heartbeat.mts"

bash "$here/stack.sh" up

gateway_url="http://127.0.0.1:$GATEWAY_PORT"
regulator_gateway_url="http://127.0.0.1:$REGULATOR_GATEWAY_PORT"
indexer_url="http://127.0.0.1:$INDEXER_HTTP_PORT"
ingest_url="http://127.0.0.1:$INGEST_HTTP_PORT"
mqtt_url="mqtt://127.0.0.1:$INGEST_MQTT_PORT"
demo_log="$log_dir/demo.log"
demo_result="skipped (LEDGER_START_DEMO=0)"
if [ "$LEDGER_START_DEMO" != 0 ]; then
  log "demo flow (scripts/demo.mts), also written to $demo_log"
  echo >&2
  if LEDGER_RUN_DIR="$LEDGER_RUN_DIR" GATEWAY_URL="$gateway_url" REGULATOR_GATEWAY_URL="$regulator_gateway_url" INDEXER_URL="$indexer_url" INGEST_URL="$ingest_url" \
    INGEST_MQTT_URL="$mqtt_url" LEDGER_DEMO_SITE="$LEDGER_DEMO_SITE" npx tsx "$repo_root/scripts/demo.mts" 2>&1 | tee "$demo_log" >&2; then
    demo_result="done (narrative in $demo_log)"
  else
    demo_result="FAILED (see $demo_log and the service logs); the stack stays up"
    log "WARNING: the demo flow failed; the services keep running"
  fi
fi

stack_db="PGlite ($LEDGER_RUN_DIR/indexer-pglite)"
enterprise_db="PGlite ($LEDGER_RUN_DIR/gateway/indexer-pglite)"
if [ "${LEDGER_STACK_DATABASE:-pglite}" = postgres ]; then
  stack_db="PostgreSQL 127.0.0.1:$LEDGER_STACK_PG_PORT/ledger_indexer"
  enterprise_db="PostgreSQL 127.0.0.1:$LEDGER_STACK_PG_PORT/ledger_indexer_enterprise"
fi
orderer_rows=$(for i in $(orderer_ids); do
  printf 'orderer%-11s127.0.0.1:%s        admin 127.0.0.1:%s   health http://127.0.0.1:%s/healthz\n' "$i" "$(orderer_port "$i")" "$(orderer_admin_port "$i")" "$(orderer_ops_port "$i")"
done)
orderer_rows="ordering           $(ordering_mode), $(orderer_count) orderers (OrdererMSP); the chain goes on with any one of them down
$orderer_rows"
cat >&2 <<INFO

──────── compliance ledger is up ────────
channel            $LEDGER_CHANNEL, chaincode $LEDGER_CHAINCODE (endorsed by EnterpriseMSP AND RegulatorMSP)
$orderer_rows
enterprise peer    127.0.0.1:$ENTERPRISE_PEER_PORT        health http://127.0.0.1:$ENTERPRISE_PEER_OPS_PORT/healthz
regulator peer     127.0.0.1:$REGULATOR_PEER_PORT        health http://127.0.0.1:$REGULATOR_PEER_OPS_PORT/healthz
enterprise CA      https://127.0.0.1:$ENTERPRISE_CA_PORT
regulator CA       https://127.0.0.1:$REGULATOR_CA_PORT
chaincode servers  one per org, for its own peer (mutual TLS); ports in $LEDGER_RUN_DIR/chaincode/active-port-*
connection profile $LEDGER_CONNECTION_PROFILE

enterprise gateway $gateway_url           health $gateway_url/healthz   (enterprise users only; enterprise keys and CA only)
  Swagger UI       $gateway_url/docs/       OpenAPI $gateway_url/openapi.json
  content store    embedded IPFS blockstore $LEDGER_RUN_DIR/gateway/blockstore; wallet $LEDGER_RUN_DIR/gateway/wallet
  supervision      $gateway_url/app/ (the enterprise's own records, from indexer-enterprise's mirror of its own peer)
regulator gateway  $regulator_gateway_url           health $regulator_gateway_url/healthz   (regulators and auditors; regulator keys and CA only)
  wallet           $LEDGER_RUN_DIR/gateway-regulator/wallet; the indexer's mirror for its queries
  JWT secret       $LEDGER_RUN_DIR/gateway/jwt-hs256.secret (HS256, generated for this demo)
  demo users' JWTs $LEDGER_RUN_DIR/demo/tokens.json, e.g.
                   curl -H "Authorization: Bearer \$(jq -r .users.regulator.token $LEDGER_RUN_DIR/demo/tokens.json)" $regulator_gateway_url/v1/audit/transactions/<txId>
indexer            $indexer_url/healthz   metrics $indexer_url/metrics   database $stack_db (the regulator's peer)
indexer-enterprise http://127.0.0.1:$ENTERPRISE_INDEXER_HTTP_PORT/healthz   database $enterprise_db (the enterprise's peer)
ingest             MQTT $mqtt_url (embedded broker)   health $ingest_url/healthz   metrics $ingest_url/metrics
  device keys      the devices' own: $LEDGER_RUN_DIR/devices/device-keys.json; ingest holds only $LEDGER_RUN_DIR/ingest/devices.json (public) and its service key
  Fabric identity  $LEDGER_RUN_DIR/users/enterprise/ingest-gw (device_gateway)
  simulator        (cd ingest && npx tsx tools/simulator.ts run --url $mqtt_url --keys $LEDGER_RUN_DIR/devices/device-keys.json --scenario gas-leak)
reporter           sweeper (expiry, overdue monitoring) and signed push: health http://127.0.0.1:$REPORTER_HTTP_PORT/healthz   public key http://127.0.0.1:$REPORTER_HTTP_PORT/v1/public-key
  push API token   $LEDGER_RUN_DIR/reporter/push-api.token (Bearer, for /v1/subscriptions; see reporter/README.md)
demo flow          $demo_result
logs               $log_dir (one file per process: gateway.log, indexer.log, ingest.log, peer-*.log, …)
pid files          $pid_dir

Stop with Ctrl-C (services and network stop, the ledger and all state are kept),
  or from another shell: npm run network:down (services first, then the network)
Service status:    bash scripts/stack.sh status; network: npm run network:status
Wipe all state:    npm run network:down -- --wipe
INFO

# Stay in the foreground, and say so if a node or a service dies.
while sleep 15; do
  bash "$here/network.sh" status >/dev/null 2>&1 || { log "WARNING: a node is down:"; bash "$here/network.sh" status >&2 || true; }
  bash "$here/stack.sh" status >/dev/null 2>&1 || { log "WARNING: a service is down:"; bash "$here/stack.sh" status >&2 || true; }
done
