#!/usr/bin/env bash
# The real servers the tests use besides Fabric: PostgreSQL and Mosquitto from Debian, each a
# private instance on its own loopback port with state under $LEDGER_RUN_DIR/services (PostgreSQL's
# where pg-cluster.sh puts it).
#
#   services.sh start [postgres|mosquitto ...]   start (idempotent); prints the URLs as env lines
#   services.sh stop                             stop what this script started
#   services.sh env                              print TEST_DATABASE_URL / TEST_MQTT_URL
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/pg-cluster.sh
source "$here/pg-cluster.sh"

: "${LEDGER_TEST_PG_PORT:=55432}"
: "${LEDGER_TEST_MQTT_PORT:=18830}"
svc_dir="$LEDGER_RUN_DIR/services"
mkdir -p "$svc_dir" "$pid_dir" "$log_dir"

start_postgres() { pg_cluster_start tests "$LEDGER_TEST_PG_PORT"; }
stop_postgres() { pg_cluster_stop tests; }

start_mosquitto() {
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || die "Mosquitto is missing: install it with 'apt-get install -y mosquitto' (as root)"
  local pidf="$pid_dir/mosquitto.pid" conf="$svc_dir/mosquitto.conf"
  if pid_alive "$pidf"; then log "Mosquitto already running on $LEDGER_TEST_MQTT_PORT"; return; fi
  mkdir -p "$svc_dir/mosquitto"
  cat >"$conf" <<CONF
listener $LEDGER_TEST_MQTT_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $svc_dir/mosquitto/
# Saved every second, not every 30 min (the default): a broker killed -9 and restarted otherwise
# comes back without ingest's persistent session and drops what devices publish before ingest has
# subscribed again (the fault suite lost a gas alarm that way).
autosave_interval 1
# Bursts of sensor messages must queue, not be dropped, while a subscriber catches up.
max_queued_messages 100000
max_inflight_messages 1000
user $(id -un)
CONF
  log "starting Mosquitto on 127.0.0.1:$LEDGER_TEST_MQTT_PORT"
  nohup "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$conf" >>"$log_dir/mosquitto.log" 2>&1 &
  echo $! >"$pidf"
  wait_tcp "$LEDGER_TEST_MQTT_PORT" 20 || { tail -n 20 "$log_dir/mosquitto.log" >&2; die "Mosquitto did not start"; }
}

print_env() {
  echo "TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$LEDGER_TEST_PG_PORT/postgres"
  echo "TEST_MQTT_URL=mqtt://127.0.0.1:$LEDGER_TEST_MQTT_PORT"
}

case "${1:-}" in
  start)
    shift; [ $# -eq 0 ] && set -- postgres mosquitto
    for s in "$@"; do "start_$s"; done
    print_env ;;
  stop) stop_pid "$pid_dir/mosquitto.pid" mosquitto; stop_postgres ;;
  env) print_env ;;
  *) echo "usage: $0 start [postgres|mosquitto ...] | stop | env" >&2; exit 2 ;;
esac
