#!/usr/bin/env bash
# `npm run fuzz`: the gateway's schemathesis fuzz (gateway/test/integration/fuzz.test.ts) with more
# examples per operation than npm test's bounded run (LEDGER_FUZZ_MAX_EXAMPLES, default 25 here).
# Starts the network and the test servers when they are not running, as npm test does, and stops
# what it started.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/pg-cluster.sh
source "$here/pg-cluster.sh"
cd "$repo_root"

boot=$(bash "$here/bootstrap.sh") || die "bootstrap failed (see above)"
unavailable=$(echo "$boot" | sed -n 's/^LEDGER_NETWORK_UNAVAILABLE=//p')
[ -z "$unavailable" ] || die "the fuzz needs the Fabric network: $unavailable"
fuzz_python=$(echo "$boot" | sed -n 's/^LEDGER_FUZZ_PYTHON=//p')
[ -n "$fuzz_python" ] || die "no schemathesis: $(echo "$boot" | sed -n 's/^LEDGER_FUZZ_UNAVAILABLE=//p')"
export LEDGER_FUZZ_PYTHON="$fuzz_python" LEDGER_FUZZ_MAX_EXAMPLES="${LEDGER_FUZZ_MAX_EXAMPLES:-25}"

started_network=0 started_services=0
cleanup() {
  if [ "$started_network" = 1 ]; then bash "$here/network.sh" down >/dev/null 2>&1 || true; fi
  if [ "$started_services" = 1 ]; then bash "$here/services.sh" stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
if ! bash "$here/network.sh" status >/dev/null 2>&1; then
  started_network=1
  bash "$here/network.sh" up || die "the network did not start (logs in $LEDGER_RUN_DIR/logs)"
fi
bash "$here/deploy-chaincode.sh" || die "chaincode deployment failed (logs in $LEDGER_RUN_DIR/logs)"
export LEDGER_CONNECTION_PROFILE="$LEDGER_RUN_DIR/connection-profile.json"
if [ ! -f "$pid_dir/mosquitto.pid" ] || ! pg_cluster_running tests; then started_services=1; fi
svc_env=$(bash "$here/services.sh" start) || die "could not start PostgreSQL and Mosquitto"
while IFS= read -r line; do [ -n "$line" ] && export "${line?}"; done <<<"$svc_env"

log "fuzzing the gateway with $LEDGER_FUZZ_MAX_EXAMPLES examples per operation"
cd gateway && npx mocha --no-config --node-option import=tsx --timeout 3600000 test/integration/fuzz.test.ts
