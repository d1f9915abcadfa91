#!/usr/bin/env bash
# `npm start`: bootstraps what is missing, brings the network up, deploys the chaincode, proves the
# write path with one heartbeat transaction, prints where everything is, and stays up until Ctrl-C.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
cd "$repo_root"

boot=$(bash "$here/bootstrap.sh") || die "bootstrap failed (see above)"
unavailable=$(echo "$boot" | sed -n 's/^LEDGER_NETWORK_UNAVAILABLE=//p')
[ -z "$unavailable" ] || die "cannot start without a Fabric network: $unavailable"

bash "$here/network.sh" up
bash "$here/deploy-chaincode.sh"
export LEDGER_CONNECTION_PROFILE="$LEDGER_RUN_DIR/connection-profile.json"

log "demo: recording a heartbeat through both orgs' endorsement"
npx tsx "$repo_root/scripts/heartbeat.mts"

cat >&2 <<INFO

──────── compliance ledger is up ────────
channel            $LEDGER_CHANNEL, chaincode $LEDGER_CHAINCODE (endorsed by EnterpriseMSP AND RegulatorMSP)
orderer            127.0.0.1:$ORDERER_PORT        admin 127.0.0.1:$ORDERER_ADMIN_PORT   health http://127.0.0.1:$ORDERER_OPS_PORT/healthz
enterprise peer    127.0.0.1:$ENTERPRISE_PEER_PORT        health http://127.0.0.1:$ENTERPRISE_PEER_OPS_PORT/healthz
regulator peer     127.0.0.1:$REGULATOR_PEER_PORT        health http://127.0.0.1:$REGULATOR_PEER_OPS_PORT/healthz
enterprise CA      https://127.0.0.1:$ENTERPRISE_CA_PORT
regulator CA       https://127.0.0.1:$REGULATOR_CA_PORT
chaincode servers  one per org, for its own peer (mutual TLS); ports in $LEDGER_RUN_DIR/chaincode/active-port-*
connection profile $LEDGER_CONNECTION_PROFILE
state and logs     $LEDGER_RUN_DIR (logs/ holds one file per process)

Stop with Ctrl-C (the ledger is kept), or from another shell: npm run network:down
Wipe all state:    npm run network:down -- --wipe
INFO

trap 'echo >&2; bash "$here/network.sh" down; exit 0' INT TERM
# Stay in the foreground, and say so if a node dies.
while sleep 15; do
  bash "$here/network.sh" status >/dev/null 2>&1 || { log "WARNING: a node is down:"; bash "$here/network.sh" status >&2 || true; }
done
