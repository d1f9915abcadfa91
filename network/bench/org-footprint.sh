#!/usr/bin/env bash
# What each added enterprise costs on this host: onboards enterprises one by one into the running
# network (scripts/org-add.sh) up to BENCH_ENTERPRISES in all (default 5, the first included),
# and after each, once the new org is idle for BENCH_SETTLE_S seconds, reads from /proc the
# resident memory (VmRSS) and the CPU time over a BENCH_WINDOW_S window of the new org's peer,
# CA and chaincode server, and of every network process together. Offboards what it added at the
# end. Not part of `npm test`; the figures go to bench/RESULTS.md.
#
#   LEDGER_RUN_DIR=… LEDGER_PORT_OFFSET=… bash network/bench/org-footprint.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/../../scripts" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
: "${BENCH_ENTERPRISES:=5}" "${BENCH_SETTLE_S:=20}" "${BENCH_WINDOW_S:=30}"
tag=$(openssl rand -hex 2)
ticks=$(getconf CLK_TCK)

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pids_of() { local f; for f in "$@"; do [ -f "$pid_dir/$f.pid" ] && cat "$pid_dir/$f.pid"; done; return 0; }
# Read from the registry files: an org added after this script started is not in its variables.
enterprises_now() { echo $(( $(grep -l '_STATUS=member$' "$orgs_dir"/*.env 2>/dev/null | wc -l) + 1 )); }
all_network_pids() { local f; for f in "$pid_dir"/orderer.pid "$pid_dir"/peer-*.pid "$pid_dir"/ca-*.pid "$pid_dir"/chaincode-*.pid; do [ -f "$f" ] && cat "$f"; done | sort -u; }

# Sums RSS (MiB) and CPU (% of one core over the window) of a set of pids.
measure() {
  local pids=("$@") rss=0 before=0 after=0 p
  for p in "${pids[@]}"; do before=$((before + $(cpu_ticks "$p"))); done
  sleep "$BENCH_WINDOW_S"
  for p in "${pids[@]}"; do after=$((after + $(cpu_ticks "$p"))); rss=$((rss + $(rss_kib "$p"))); done
  awk -v r="$rss" -v d=$((after - before)) -v t="$ticks" -v w="$BENCH_WINDOW_S" 'BEGIN { printf "%.0f MiB, %.1f %%", r / 1024, 100 * d / t / w }'
}

added=()
cleanup() { for o in "${added[@]}"; do bash "$here/org-remove.sh" "$o" >/dev/null 2>&1 || log "could not offboard $o"; done; }
trap cleanup EXIT

echo "| enterprises | onboarding | new org: peer + CA + chaincode server (RSS, CPU idle) | the org's peer alone | whole network (RSS, CPU idle) |"
echo "|---|---|---|---|---|"
sleep "$BENCH_SETTLE_S"
echo "| $(enterprises_now) (before) | – | – | – | $(measure $(all_network_pids)) |"
while [ "$(enterprises_now)" -lt "$BENCH_ENTERPRISES" ]; do
  name="bench${tag}x${#added[@]}"
  t0=$(date +%s)
  bash "$here/org-add.sh" "$name" >>"$log_dir/bench-org-footprint.log" 2>&1 || die "org-add $name failed (log: $log_dir/bench-org-footprint.log)"
  added+=("$name")
  took=$(( $(date +%s) - t0 ))
  sleep "$BENCH_SETTLE_S"
  org_line=$(measure $(pids_of "peer-$name" "ca-$name" "chaincode-$name"))
  peer_line=$(awk -v r="$(rss_kib "$(pids_of "peer-$name")")" 'BEGIN { printf "%.0f MiB", r / 1024 }')
  echo "| $(enterprises_now) | ${took} s | $org_line | $peer_line | $(measure $(all_network_pids)) |"
done
