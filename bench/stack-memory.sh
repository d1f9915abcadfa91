#!/usr/bin/env bash
# Resident memory of the whole `npm start` stack (issue 18, point 7; goal ≤ 1.5 GiB at rest): the
# network, the chaincode deployment and the services as scripts/start.sh starts them (on this
# shell's LEDGER_RUN_DIR and LEDGER_PORT_OFFSET), then VmRSS from /proc of every process of the
# run directory's pid files and their descendants, listed one by one and summed:
#   1. at rest, BENCH_SETTLE_S after the services answered;
#   2. under load: the peak of each process, sampled every second, while the demo flow
#      (scripts/demo.mts, what `npm start` runs) goes through both gateways BENCH_LOAD_ROUNDS times
#      (BENCH_LOAD=demo, the default), or while permit:Apply runs at saturation (BENCH_LOAD=saturation:
#      gateway/bench/saturation.bench.ts, direct path, BENCH_SATURATION_LEVEL in flight (192, the
#      ceiling of bench/RESULTS.md) for BENCH_SATURATION_SECONDS (60); its client is not part of the
#      stack, the peers, orderers, chaincode servers and both mirrors following the blocks are;
#      needs TEST_DATABASE_URL, as that bench does);
#   3. at rest again afterwards, BENCH_SETTLE_S after the load and, with BENCH_REST_AFTER_S, once
#      more that many seconds after the load: Go collects an idle heap only every two minutes and
#      returns its pages to the system over minutes after that, so 20 s shows the load's heap.
# The test servers of scripts/services.sh (mosquitto, PostgreSQL) are not part of `npm start` and
# are left out. Prints Markdown for bench/RESULTS.md. Leaves the stack running (stack.sh down).
#
#   LEDGER_RUN_DIR=/tmp/run-x LEDGER_PORT_OFFSET=300 bash bench/stack-memory.sh   (a new run directory)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/../scripts/lib.sh"
settle=${BENCH_SETTLE_S:-30}
# The figures are those of a first `npm start`, and the demo flow expects the state it leaves: a
# run directory that already holds a network would give neither.
[ ! -e "$LEDGER_RUN_DIR/connection-profile.json" ] ||
  die "$LEDGER_RUN_DIR already holds a network: give the bench a new LEDGER_RUN_DIR (or wipe this one: scripts/network.sh down --wipe)"
rounds=${BENCH_LOAD_ROUNDS:-2}
load_kind=${BENCH_LOAD:-demo}
case "$load_kind" in
  demo) ;;
  saturation) [ -n "${TEST_DATABASE_URL:-}" ] || die "BENCH_LOAD=saturation needs TEST_DATABASE_URL (scripts/services.sh start prints it)" ;;
  *) die "BENCH_LOAD is demo or saturation, not $load_kind" ;;
esac

bash "$repo_root/scripts/network.sh" up >&2
bash "$repo_root/scripts/deploy-chaincode.sh" >&2
export LEDGER_CONNECTION_PROFILE="$LEDGER_RUN_DIR/connection-profile.json"
npx tsx "$repo_root/scripts/heartbeat.mts" >&2
# stack.sh can take a service still exec-ing on a loaded machine for one that exited: one retry.
bash "$repo_root/scripts/stack.sh" up >&2 || bash "$repo_root/scripts/stack.sh" up >&2

# name<TAB>pid of each stack process: the pid files' processes and every descendant.
stack_pids() {
  local f name pid
  for f in "$LEDGER_RUN_DIR"/pids/*.pid; do
    name=$(basename "$f" .pid)
    case "$name" in mosquitto | postgres*) continue ;; esac
    pid=$(cat "$f" 2>/dev/null) || continue
    [ -d "/proc/$pid" ] || continue
    printf '%s\t%s\n' "$name" "$pid"
    descendants "$pid" | while read -r child; do printf '%s\t%s\n' "$name/$(tr -d '\0' <"/proc/$child/comm")" "$child"; done
  done | sort -u -k2,2
}
descendants() {
  local child
  for child in $(cat "/proc/$1/task/"*/children 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

declare -A peak
sample() {
  local name pid kib
  while IFS=$'\t' read -r name pid; do
    kib=$(rss_kib "$pid")
    [ -n "$kib" ] || continue
    if [ "${peak[$name]:-0}" -lt "$kib" ]; then peak[$name]=$kib; fi
  done < <(stack_pids)
}
table() {
  local title=$1 total=0 name
  echo "### $title"
  echo
  echo "| process | RSS MiB |"
  echo "|---|---|"
  for name in $(printf '%s\n' "${!peak[@]}" | sort); do
    echo "| $name | $((peak[$name] / 1024)) |"
    total=$((total + peak[$name]))
  done
  echo "| **sum** | **$((total / 1024))** ($(awk -v k="$total" 'BEGIN {printf "%.2f", k / 1048576}') GiB) |"
  echo
}

echo "## Stack memory ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$repo_root" rev-parse --short HEAD), load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo
sleep "$settle"
peak=()
sample
table "at rest, ${settle} s after start"

gateway_url="http://127.0.0.1:$GATEWAY_PORT"
peak=()
if [ "$load_kind" = saturation ]; then
  level=${BENCH_SATURATION_LEVEL:-192} seconds=${BENCH_SATURATION_SECONDS:-60}
  load_title="permit:Apply at saturation, $level in flight for $seconds s (direct path)"
  (
    cd "$repo_root/gateway"
    BENCH_PATHS=direct BENCH_LEVELS="$level" BENCH_LEVEL_SECONDS="$seconds" npx tsx bench/saturation.bench.ts >"$LEDGER_RUN_DIR/saturation.md" 2>&1 ||
      echo "WARNING: the saturation load failed (see $LEDGER_RUN_DIR/saturation.md)" >&2
  ) &
else
  load_title="the demo flow ${rounds} times"
  (
  # The site stack.sh generated the simulated devices' keys for: the demo's gas leak is published by them.
  for i in $(seq 1 "$rounds"); do
    LEDGER_RUN_DIR="$LEDGER_RUN_DIR" GATEWAY_URL="$gateway_url" REGULATOR_GATEWAY_URL="http://127.0.0.1:$REGULATOR_GATEWAY_PORT" \
      INDEXER_URL="http://127.0.0.1:$INDEXER_HTTP_PORT" INGEST_URL="http://127.0.0.1:$INGEST_HTTP_PORT" \
      INGEST_MQTT_URL="mqtt://127.0.0.1:$INGEST_MQTT_PORT" LEDGER_DEMO_SITE="$LEDGER_DEMO_SITE" npx tsx "$repo_root/scripts/demo.mts" >/dev/null 2>&1 ||
      echo "WARNING: demo round $i failed" >&2
  done
  ) &
fi
load=$!
while kill -0 "$load" 2>/dev/null; do
  sample
  sleep 1
done
table "peak of each process under load: ${load_title} (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$load_kind" != saturation ] || grep -E '^direct c=' "$LEDGER_RUN_DIR/saturation.md" || true

sleep "$settle"
peak=()
sample
table "at rest again, ${settle} s after the load"
if [ -n "${BENCH_REST_AFTER_S:-}" ] && [ "$BENCH_REST_AFTER_S" -gt "$settle" ]; then
  sleep $((BENCH_REST_AFTER_S - settle))
  peak=()
  sample
  table "at rest again, ${BENCH_REST_AFTER_S} s after the load"
fi
