# shellcheck shell=bash
# A private PostgreSQL cluster from Debian's server binaries, used by services.sh (the tests' server)
# and stack.sh (the stack's, when LEDGER_STACK_DATABASE=postgres). Sourced after lib.sh.
#
#   pg_cluster_start <name> <port>   initialise on first use, then start (idempotent)
#   pg_cluster_stop <name>
#   pg_cluster_running <name>
#   pg_cluster_data <name>           the data directory
#   pg_as_owner <command...>         run a command as the cluster's owner

pg_bin() {
  local d; d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -n "$d" ] || d=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")
  [ -x "$d/pg_ctl" ] || die "PostgreSQL server binaries are missing: install them with 'apt-get install -y postgresql' (as root)"
  echo "$d"
}

# PostgreSQL refuses to run as root: as root, the cluster belongs to the 'postgres' user.
pg_as_owner() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }

# As root, $LEDGER_RUN_DIR usually lies under /root (mode 700), which the 'postgres' user cannot
# enter, so root's clusters live under /var/lib/compliance-ledger instead, keyed by the run
# directory so that side-by-side runs keep separate clusters.
pg_cluster_home() {
  if [ "$(id -u)" = 0 ]; then
    echo "/var/lib/compliance-ledger/$(printf '%s' "$LEDGER_RUN_DIR" | sha1sum | cut -c1-12)/$1"
  else
    echo "$LEDGER_RUN_DIR/postgres/$1"
  fi
}
pg_cluster_data() { echo "$(pg_cluster_home "$1")/data"; }
pg_cluster_log() { echo "$(pg_cluster_home "$1")/postgres.log"; }

# Without a pid file there is nothing to ask, and no need for the server binaries to be installed.
pg_cluster_running() {
  local data bin; data=$(pg_cluster_data "$1")
  [ -f "$data/postmaster.pid" ] || return 1
  bin=$(pg_bin) && pg_as_owner "$bin/pg_ctl -D '$data' status" >/dev/null 2>&1
}

pg_cluster_start() {
  local name=$1 port=$2 bin home data logf
  bin=$(pg_bin); home=$(pg_cluster_home "$name"); data="$home/data"; logf="$home/postgres.log"
  if pg_cluster_running "$name"; then log "PostgreSQL ($name) already running on 127.0.0.1:$port"; return; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    log "creating a private PostgreSQL cluster ($name) in $data"
    mkdir -p "$data"
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$home"; fi
    chmod 700 "$data"
    pg_as_owner "$bin/initdb -D '$data' -A trust -U postgres -E UTF8" >"$home/initdb.log" 2>&1 \
      || { cat "$home/initdb.log" >&2; die "initdb failed for the $name cluster"; }
  fi
  log "starting PostgreSQL ($name) on 127.0.0.1:$port (log $logf)"
  pg_as_owner "$bin/pg_ctl -D '$data' -l '$logf' -w -o \"-p $port -k /tmp -c listen_addresses=127.0.0.1\" start" >/dev/null \
    || { tail -n 20 "$logf" >&2; die "PostgreSQL ($name) did not start"; }
}

pg_cluster_stop() {
  local data bin; data=$(pg_cluster_data "$1")
  [ -f "$data/postmaster.pid" ] || return 0
  bin=$(pg_bin); log "stopping PostgreSQL ($1)"
  pg_as_owner "$bin/pg_ctl -D '$data' -m fast -w stop" >/dev/null 2>&1 || true
}

# Deletes every cluster of this run directory (they must be stopped first).
pg_clusters_wipe() { rm -rf "$(dirname "$(pg_cluster_home any)")"; }
