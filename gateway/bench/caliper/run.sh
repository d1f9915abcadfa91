#!/usr/bin/env bash
# `npm run bench:caliper`: Hyperledger Caliper runs permit:Apply against this project's network, then
# our saturation benchmark's direct path runs the same load, so that the two figures can be compared.
# Caliper is a benchmark tool, not a dependency of any workspace: it is installed with npm into
# LEDGER_CALIPER_HOME (default ~/.cache/compliance-ledger/caliper) on first use, with the same
# fabric-gateway and grpc-js versions as the project's own client (Caliper's own `bind` would pick
# fabric-gateway 1.5). Not part of `npm test`.
#   CALIPER_LOADS=128 CALIPER_SECONDS=30 CALIPER_WORKERS=1 CALIPER_REPEAT=2 npm run bench:caliper
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$repo/scripts/lib.sh"
cd "$repo"

CALIPER_VERSION=0.6.0
caliper_home=${LEDGER_CALIPER_HOME:-$HOME/.cache/compliance-ledger/caliper}
export CALIPER_LOADS=${CALIPER_LOADS:-128} CALIPER_SECONDS=${CALIPER_SECONDS:-30} CALIPER_WORKERS=${CALIPER_WORKERS:-1}

gateway_version=$(node -p "require('@hyperledger/fabric-gateway/package.json').version")
grpc_version=$(node -p "require('@grpc/grpc-js/package.json').version")
want="@hyperledger/caliper-cli@$CALIPER_VERSION @hyperledger/fabric-gateway@$gateway_version @grpc/grpc-js@$grpc_version"
if [ "$(cat "$caliper_home/.installed" 2>/dev/null)" != "$want" ]; then
  log "installing Caliper into $caliper_home ($want)"
  mkdir -p "$caliper_home"
  [ -f "$caliper_home/package.json" ] || echo '{"name":"caliper-cache","private":true}' >"$caliper_home/package.json"
  # shellcheck disable=SC2086
  (cd "$caliper_home" && npm install --no-audit --no-fund --omit=optional $want >&2)
  echo "$want" >"$caliper_home/.installed"
fi

if [ ! -f "${LEDGER_CONNECTION_PROFILE:-$LEDGER_RUN_DIR/connection-profile.json}" ]; then
  bash scripts/network.sh up && bash scripts/deploy-chaincode.sh
fi
export LEDGER_CONNECTION_PROFILE=${LEDGER_CONNECTION_PROFILE:-$LEDGER_RUN_DIR/connection-profile.json}
while IFS= read -r line; do [ -n "$line" ] && export "${line?}"; done < <(bash scripts/services.sh start postgres)

work="$LEDGER_RUN_DIR/caliper"
rm -rf "$work" && mkdir -p "$work"
log "preparing the cast and Caliper's configuration in $work"
(cd gateway && node --import tsx bench/caliper/prepare.ts "$work")

# Caliper and our direct path take turns, CALIPER_REPEAT times, so that the load other work puts
# on a shared machine hits both alike.
caliper_round() {
  local n=$1
  log "Caliper $CALIPER_VERSION, turn $n: permit:Apply, loads $CALIPER_LOADS, ${CALIPER_SECONDS} s each, $CALIPER_WORKERS worker(s)"
  (cd "$work" && "$caliper_home/node_modules/.bin/caliper" launch manager --caliper-workspace "$work" \
    --caliper-networkconfig network.yaml --caliper-benchconfig benchmark.yaml --caliper-flow-only-test \
    --caliper-report-path "$work/report-$n.html" >"$work/caliper-$n.log" 2>&1) || { tail -n 40 "$work/caliper-$n.log" >&2; die "Caliper failed"; }
  echo "#### Caliper, turn $n (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
  # Caliper's summary table (the last one it logs holds every round), and the transactions in
  # flight it implies (Little's law: throughput × average latency), to compare with the load asked.
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").replace(/\x1b\[[0-9;]*m/g, "").split("\n")
      .map((l) => l.replace(/^.*?(?=\|)/, "")).filter((l) => l.startsWith("| "));
    const last = lines.slice(lines.findLastIndex((l) => l.startsWith("| Name")) + 1);
    console.log("| round | succeeded | failed | send rate /s | max latency s | min latency s | avg latency s | throughput /s | in flight |");
    console.log("|---|---|---|---|---|---|---|---|---|");
    for (const r of last) {
      const c = r.split("|").map((x) => x.trim());
      console.log(`| ${c.slice(1, 9).join(" | ")} | ${(Number(c[8]) * Number(c[7])).toFixed(0)} |`);
    }' "$work/caliper-$n.log"
  echo
}

echo "## Caliper $CALIPER_VERSION (fabric-gateway $gateway_version) against our direct path, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
echo
echo "Logs and Caliper's HTML reports in $work."
echo
for n in $(seq 1 "${CALIPER_REPEAT:-2}"); do
  caliper_round "$n"
  echo "#### Our saturation benchmark, direct path, turn $n"
  echo
  BENCH_PATHS=direct BENCH_LEVELS=$CALIPER_LOADS BENCH_LEVEL_SECONDS=$CALIPER_SECONDS npm run bench:saturation -w gateway --silent 2>/dev/null
done
