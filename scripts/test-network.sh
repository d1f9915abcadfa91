# Sourced by the scripts that run one suite on its own (fuzz.sh, faults.sh): the network and the
# test servers, started when they are not running and stopped at exit if this run started them, as
# npm test does; LEDGER_CONNECTION_PROFILE, TEST_DATABASE_URL and TEST_MQTT_URL exported.
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/pg-cluster.sh
source "$here/pg-cluster.sh"
cd "$repo_root" || exit 1
started_network=0 started_services=0
# Bootstrap (packages, build, Fabric binaries); its output in $boot. $1 names the suite, which needs the network.
test_bootstrap() {
  boot=$(bash "$here/bootstrap.sh") || die "bootstrap failed (see above)"
  local unavailable
  unavailable=$(echo "$boot" | sed -n 's/^LEDGER_NETWORK_UNAVAILABLE=//p')
  [ -z "$unavailable" ] || die "$1 needs the Fabric network: $unavailable"
}
stop_what_we_started() {
  if [ "$started_network" = 1 ]; then bash "$here/network.sh" down >/dev/null 2>&1 || true; fi
  if [ "$started_services" = 1 ]; then bash "$here/services.sh" stop >/dev/null 2>&1 || true; fi
}
test_network_up() {
  trap stop_what_we_started EXIT
  if ! bash "$here/network.sh" status >/dev/null 2>&1; then
    started_network=1
    bash "$here/network.sh" up || die "the network did not start (logs in $LEDGER_RUN_DIR/logs)"
  fi
  bash "$here/deploy-chaincode.sh" || die "chaincode deployment failed (logs in $LEDGER_RUN_DIR/logs)"
  export LEDGER_CONNECTION_PROFILE="$LEDGER_RUN_DIR/connection-profile.json"
  if [ ! -f "$pid_dir/mosquitto.pid" ] || ! pg_cluster_running tests; then started_services=1; fi
  local svc_env line
  svc_env=$(bash "$here/services.sh" start) || die "could not start PostgreSQL and Mosquitto"
  while IFS= read -r line; do [ -n "$line" ] && export "${line?}"; done <<<"$svc_env"
}
