#!/usr/bin/env bash
# `npm run bench`: runs every package's benchmark (its `bench` npm script) on this machine and
# prints the header to paste into bench/RESULTS.md with the figures. Not part of `npm test`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
cd "$repo_root"

boot=$(bash "$here/bootstrap.sh") || die "bootstrap failed"
unavailable=$(echo "$boot" | sed -n 's/^LEDGER_NETWORK_UNAVAILABLE=//p')
if [ -z "$unavailable" ]; then
  bash "$here/network.sh" up && bash "$here/deploy-chaincode.sh"
  export LEDGER_CONNECTION_PROFILE="$LEDGER_RUN_DIR/connection-profile.json"
else
  log "WARNING: no Fabric network ($unavailable); benchmarks that need one will say so"
  export LEDGER_NETWORK_UNAVAILABLE="$unavailable"
fi
while IFS= read -r line; do [ -n "$line" ] && export "${line?}"; done < <(bash "$here/services.sh" start)

echo "## $(date -u +%Y-%m-%d) — commit $(git rev-parse --short HEAD)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Node $(node --version)"
for pkg in indexer gateway ingest; do
  if node -e "process.exit(require('./$pkg/package.json').scripts?.bench ? 0 : 1)" 2>/dev/null; then
    echo; echo "### $pkg: npm run bench -w $pkg"
    npm run bench -w "$pkg" --silent || log "WARNING: the $pkg benchmark failed"
  fi
done
# Several enterprises transacting at once: onboards enterprises into this network for the run and
# offboards them again (network/bench/enterprise-throughput.mts).
if [ -z "$unavailable" ]; then
  echo; echo "### network: npx tsx network/bench/enterprise-throughput.mts"
  npx tsx network/bench/enterprise-throughput.mts || log "WARNING: the enterprise throughput benchmark failed"
fi
