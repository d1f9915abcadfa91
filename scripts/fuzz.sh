#!/usr/bin/env bash
# `npm run fuzz`: the gateway's schemathesis fuzz (gateway/test/integration/fuzz.test.ts) with more
# examples per operation than npm test's bounded run (LEDGER_FUZZ_MAX_EXAMPLES, default 25 here).
# Starts the network and the test servers when they are not running, as npm test does, and stops
# what it started.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/test-network.sh
source "$here/test-network.sh"

test_bootstrap "the fuzz"
fuzz_python=$(echo "$boot" | sed -n 's/^LEDGER_FUZZ_PYTHON=//p')
[ -n "$fuzz_python" ] || die "no schemathesis: $(echo "$boot" | sed -n 's/^LEDGER_FUZZ_UNAVAILABLE=//p')"
export LEDGER_FUZZ_PYTHON="$fuzz_python" LEDGER_FUZZ_MAX_EXAMPLES="${LEDGER_FUZZ_MAX_EXAMPLES:-25}"

test_network_up

log "fuzzing the gateway with $LEDGER_FUZZ_MAX_EXAMPLES examples per operation"
cd gateway && npx mocha --no-config --node-option import=tsx --timeout 3600000 test/integration/fuzz.test.ts
