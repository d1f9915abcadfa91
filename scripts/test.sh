#!/usr/bin/env bash
# `npm test`: bootstraps what is missing, starts the Fabric network and the test servers when they
# are not running, runs every package's tests, stops what it started, and ends with one line
# "N passed, N failed, N skipped".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The network `npm test` starts is its own and starts empty: the suites count a month's
# transactions and index the chain from block 0, so a ledger kept from an earlier run (on a CI
# machine that keeps $HOME, or after a run that was interrupted) would carry that run's records
# into this one's figures. A network already running (npm start's stack) is used as it is, and a
# LEDGER_RUN_DIR set by the caller is that caller's network, resumed as it is.
fresh_network=0
if [ -z "${LEDGER_RUN_DIR:-}" ]; then
  state_home=${XDG_STATE_HOME:-$HOME/.local/state}/compliance-ledger
  if LEDGER_RUN_DIR="$state_home/run" bash "$here/network.sh" status >/dev/null 2>&1; then
    export LEDGER_RUN_DIR="$state_home/run"
  else
    export LEDGER_RUN_DIR="$state_home/test-run"
    fresh_network=1
  fi
fi
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
# shellcheck source=scripts/pg-cluster.sh
source "$here/pg-cluster.sh"
cd "$repo_root"
t0=$(date +%s)

# 1. Bootstrap (packages, build, Fabric binaries).
boot=$(bash "$here/bootstrap.sh") || die "bootstrap failed (see above)"
unavailable=$(echo "$boot" | sed -n 's/^LEDGER_NETWORK_UNAVAILABLE=//p')
# The model's training test runs train.py with the interpreter of the virtualenv bootstrap built.
model_python=$(echo "$boot" | sed -n 's/^LEDGER_MODEL_PYTHON=//p')
model_unavailable=$(echo "$boot" | sed -n 's/^LEDGER_MODEL_UNAVAILABLE=//p')
[ -z "$model_python" ] || export LEDGER_MODEL_PYTHON="$model_python"
[ -z "$model_unavailable" ] || export LEDGER_MODEL_UNAVAILABLE="$model_unavailable"
# The gateway's fuzz test runs schemathesis from the virtualenv bootstrap built.
fuzz_python=$(echo "$boot" | sed -n 's/^LEDGER_FUZZ_PYTHON=//p')
fuzz_unavailable=$(echo "$boot" | sed -n 's/^LEDGER_FUZZ_UNAVAILABLE=//p')
[ -z "$fuzz_python" ] || export LEDGER_FUZZ_PYTHON="$fuzz_python"
[ -z "$fuzz_unavailable" ] || export LEDGER_FUZZ_UNAVAILABLE="$fuzz_unavailable"
if [ -n "$unavailable" ] && [ "${LEDGER_REQUIRE_NETWORK:-0}" = 1 ]; then
  die "LEDGER_REQUIRE_NETWORK=1 but there is no Fabric network: $unavailable"
fi

started_network=0 started_services=0
cleanup() {
  if [ "$started_network" = 1 ]; then log "stopping the network this run started"; bash "$here/network.sh" down >/dev/null 2>&1 || true; fi
  if [ "$started_services" = 1 ]; then log "stopping the test servers this run started"; bash "$here/services.sh" stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# 2. The real network, unless it cannot be had.
if [ -z "$unavailable" ]; then
  if bash "$here/network.sh" status >/dev/null 2>&1; then
    log "using the running network in $LEDGER_RUN_DIR"
  else
    started_network=1
    if [ "$fresh_network" = 1 ] && [ -e "$LEDGER_RUN_DIR" ]; then
      log "wiping the network an earlier test run left in $LEDGER_RUN_DIR: the tests start from an empty ledger"
      bash "$here/network.sh" down --wipe >/dev/null 2>&1 || true
    fi
    # A stopped network made by an earlier version of this repository (a single orderer, before
    # config/ordering existed) cannot take the three consenters; for the tests it is disposable.
    if [ -f "$LEDGER_RUN_DIR/config/$LEDGER_CHANNEL.block" ] && [ ! -f "$LEDGER_RUN_DIR/config/ordering" ]; then
      log "the stopped network in $LEDGER_RUN_DIR is of an earlier version (one orderer): wiping it to start a new one for the tests"
      bash "$here/network.sh" down --wipe >/dev/null 2>&1 || true
    fi
    bash "$here/network.sh" up || die "the network did not start (logs in $LEDGER_RUN_DIR/logs)"
  fi
  bash "$here/deploy-chaincode.sh" || die "chaincode deployment failed (logs in $LEDGER_RUN_DIR/logs)"
  export LEDGER_CONNECTION_PROFILE="$LEDGER_RUN_DIR/connection-profile.json"
else
  export LEDGER_NETWORK_UNAVAILABLE="$unavailable"
fi

# 3. PostgreSQL and Mosquitto (the real servers; the embedded ones are tested too).
if [ ! -f "$pid_dir/mosquitto.pid" ] || ! pg_cluster_running tests; then started_services=1; fi
svc_env=$(bash "$here/services.sh" start) || die "could not start PostgreSQL and Mosquitto"
while IFS= read -r line; do [ -n "$line" ] && export "${line?}"; done <<<"$svc_env"

# 4. The static checks, alongside the tests: the tests wait on the network most of the time, and
# tsc and Biome need no network, so they run at a lower priority in the background and their output
# is shown after the tests'. Each package's test configuration is type-checked (tsx runs the tests,
# benchmarks and scripts without checking types) and counts as one test in the summary; Biome's
# formatter and linter check the whole tree (biome.json) with no warning allowed, and no line of
# TypeScript may be over 160 characters (scripts/check-line-length.mjs: the formatter leaves long
# strings alone). `npm run format` rewrites what the formatter would refuse.
static_out=$(mktemp) static_rows=$(mktemp)
static_checks() {
  local types_passed=0 types_failed=0 cfg lint
  for cfg in network/tsconfig.json network/tsconfig.bench.json schema/tsconfig.test.json verifier/tsconfig.test.json gate-verifier/tsconfig.test.json fabric-client/tsconfig.test.json content-store/tsconfig.test.json chaincode/tsconfig.test.json indexer/tsconfig.test.json gateway/tsconfig.test.json ingest/tsconfig.check.json reporter/tsconfig.test.json web/tsconfig.test.json; do
    if npx tsc -p "$cfg" --noEmit; then types_passed=$((types_passed + 1)); else types_failed=$((types_failed + 1)); echo "type errors in $cfg (above)"; fi
  done
  printf '{"suite":"types","passed":%d,"failed":%d,"skipped":0}\n' "$types_passed" "$types_failed" >>"$static_rows"
  if npx biome ci --error-on-warnings --colors=off . && node scripts/check-line-length.mjs; then lint='"passed":1,"failed":0'; else lint='"passed":0,"failed":1'; echo "lint, format or line-length errors (above); npm run format fixes the formatting"; fi
  printf '{"suite":"lint",%s,"skipped":0}\n' "$lint" >>"$static_rows"
}
log "type-checking the tests and benchmarks of every package and checking lint and format (biome ci), in the background"
static_t0=$(date +%s)
(
  renice -n 10 "$BASHPID" >/dev/null 2>&1 || true
  static_checks >"$static_out" 2>&1
  echo "$(($(date +%s) - static_t0))" >"$static_out.seconds"
) &
static_pid=$!

# 5. Every package's tests; a failing package does not stop the others.
summary=$(mktemp)
export TEST_SUMMARY_FILE="$summary"
status=0
package_limit=${LEDGER_TEST_PACKAGE_TIMEOUT_S:-1800}
packages=(network schema verifier gate-verifier fabric-client content-store chaincode indexer gateway ingest reporter web)
for pkg in "${packages[@]}"; do
  [ -n "$(find "$pkg/test" -name '*.test.ts' 2>/dev/null | head -n1)" ] || continue
  log "tests: $pkg"
  # Bounded, so a hang (a child process left running keeps mocha alive) costs one package, not the
  # whole CI run. timeout signals its whole process group: mocha and what the tests spawned.
  (cd "$pkg" && TEST_SUITE_NAME="$pkg" timeout -k 30 "$package_limit" npx mocha)
  rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    log "tests: $pkg did not end within ${package_limit}s (LEDGER_TEST_PACKAGE_TIMEOUT_S) and was stopped"
    printf '{"suite":"%s (timed out)","passed":0,"failed":1,"skipped":0}\n' "$pkg" >>"$summary"
  fi
  [ "$rc" = 0 ] || status=1
done

# 6. The static checks' results, once they are done.
wait "$static_pid"
log "type check and lint (ran in the background for $(cat "$static_out.seconds" 2>/dev/null || echo '?')s):"
cat "$static_out"
cat "$static_rows" >>"$summary"
# Both rows, each with nothing failed; a missing row (the background job died) fails the run too.
if [ "$(grep -c '"failed":0' "$static_rows")" != 2 ]; then
  status=1
  grep -q '"suite":"lint"' "$static_rows" || printf '{"suite":"static checks (did not finish)","passed":0,"failed":1,"skipped":0}\n' >>"$summary"
fi
rm -f "$static_out" "$static_out.seconds" "$static_rows"

# 7. The totals.
node - "$summary" "$unavailable" "$model_unavailable" <<'JS'
const fs = require('node:fs');
const [file, unavailable, modelUnavailable] = process.argv.slice(2);
const rows = fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const total = { passed: 0, failed: 0, skipped: 0 };
console.log('\n──────── test summary ────────');
for (const r of rows) {
  console.log(`${r.suite.padEnd(12)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(4)} failed ${String(r.skipped).padStart(4)} skipped`);
  for (const k of Object.keys(total)) total[k] += r[k];
}
const failures = rows.flatMap((r) => (r.failures ?? []).map((f) => ({ suite: r.suite, ...f })));
if (failures.length > 0) {
  console.log('\n──────── failed tests ────────');
  for (const f of failures) {
    console.log(`${f.suite}: ${f.title}${f.file ? `\n  in ${f.file}` : ''}`);
    console.log(f.message.replace(/^/gm, '  | '));
  }
}
if (unavailable) {
  console.log(`\nNOT TESTED against a real Fabric network (${total.skipped} tests skipped): ${unavailable}`);
}
if (modelUnavailable) {
  console.log(`\nNOT TESTED that training reproduces the committed risk model: ${modelUnavailable}`);
}
console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
JS
rm -f "$summary"
log "npm test finished in $(( $(date +%s) - t0 ))s"
exit $status
