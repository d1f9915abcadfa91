#!/usr/bin/env bash
# The real servers the tests use besides Fabric: PostgreSQL and Mosquitto from Debian, each a
# private instance on its own loopback port with state under $LEDGER_RUN_DIR/services.
#
#   services.sh start [postgres|mosquitto ...]   start (idempotent); prints the URLs as env lines
#   services.sh stop                             stop what this script started
#   services.sh env                              print TEST_DATABASE_URL / TEST_MQTT_URL
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

: "${LEDGER_TEST_PG_PORT:=55432}"
: "${LEDGER_TEST_MQTT_PORT:=18830}"
svc_dir="$LEDGER_RUN_DIR/services"
mkdir -p "$svc_dir" "$pid_dir" "$log_dir"

pg_bin() {
  local d; d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -n "$d" ] || die "PostgreSQL server binaries are missing: install them with 'apt-get install -y postgresql' (as root)"
  echo "$d"
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to the 'postgres' user.
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }

start_postgres() {
  local bin data="$svc_dir/postgres"; bin=$(pg_bin)
  if as_pg "$bin/pg_ctl -D '$data' status" >/dev/null 2>&1; then log "PostgreSQL already running on $LEDGER_TEST_PG_PORT"; return; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    log "creating a private PostgreSQL cluster in $data"
    mkdir -p "$data"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$data" && chmod 700 "$data"
    as_pg "$bin/initdb -D '$data' -A trust -U postgres -E UTF8" >"$log_dir/postgres-init.log" 2>&1 || { cat "$log_dir/postgres-init.log" >&2; die "initdb failed"; }
  fi
  log "starting PostgreSQL on 127.0.0.1:$LEDGER_TEST_PG_PORT"
  touch "$log_dir/postgres.log"; [ "$(id -u)" = 0 ] && chown postgres "$log_dir/postgres.log"
  as_pg "$bin/pg_ctl -D '$data' -l '$log_dir/postgres.log' -w -o \"-p $LEDGER_TEST_PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on\" start" >/dev/null \
    || { tail -n 20 "$log_dir/postgres.log" >&2; die "PostgreSQL did not start"; }
}

stop_postgres() {
  local data="$svc_dir/postgres" bin
  [ -f "$data/postmaster.pid" ] || return 0
  bin=$(pg_bin); log "stopping PostgreSQL"
  as_pg "$bin/pg_ctl -D '$data' -m fast -w stop" >/dev/null 2>&1 || true
}

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
