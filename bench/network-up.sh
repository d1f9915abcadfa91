#!/usr/bin/env bash
# What the ordering service costs at start: the time of `network.sh up` on a new network and on a
# stopped one (restart), and each node's resident memory right after, for LEDGER_ORDERING (raft:
# three orderers, bft: four). Each round uses a fresh run directory, removed afterwards. Not part
# of `npm test`; figures go to bench/RESULTS.md.
#
#   LEDGER_PORT_OFFSET=<free offset> bash bench/network-up.sh [rounds]
#   BENCH_SCRIPTS=<dir>   another checkout's scripts/ (e.g. the single-orderer network before)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
scripts=${BENCH_SCRIPTS:-$here/../scripts}
rounds=${1:-2}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$(cat "$1")/status"; }

echo "ordering ${LEDGER_ORDERING:-raft}, scripts $scripts, offset ${LEDGER_PORT_OFFSET:-0}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-8s %-10s %s\n' round 'new (s)' 'restart (s)' 'resident memory after the restart (MiB)'
for r in $(seq 1 "$rounds"); do
  run_dir=$(mktemp -d /tmp/bench-network-up.XXXXXX)
  export LEDGER_RUN_DIR=$run_dir
  t0=$(date +%s.%N)
  bash "$scripts/network.sh" up >"$run_dir.log" 2>&1 || { tail -n 20 "$run_dir.log"; exit 1; }
  t1=$(date +%s.%N)
  bash "$scripts/network.sh" down >>"$run_dir.log" 2>&1
  t2=$(date +%s.%N)
  bash "$scripts/network.sh" up >>"$run_dir.log" 2>&1 || { tail -n 20 "$run_dir.log"; exit 1; }
  t3=$(date +%s.%N)
  memory=""
  for f in "$run_dir"/pids/orderer*.pid "$run_dir"/pids/peer-*.pid; do
    memory+="$(basename "$f" .pid) $(( $(rss_kib "$f") / 1024 ))  "
  done
  printf '%-6s %-8.1f %-10.1f %s\n' "$r" "$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)" "$memory"
  bash "$scripts/network.sh" down --wipe >>"$run_dir.log" 2>&1
  rm -f "$run_dir.log"
done
