#!/usr/bin/env bash
# `npm run faults`: the long fault suite (gateway/test/faults/fault-suite.test.ts with
# LEDGER_FAULTS=long): SIGKILL of every process of the network and the services under load, each
# restarted, then the ledger, the mirror and the clients' records compared. npm test runs the short
# version. Starts the network and the test servers when they are not running, as npm test does, and
# stops what it started. The figures are appended to $LEDGER_FAULTS_REPORT when set.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/test-network.sh
source "$here/test-network.sh"

test_bootstrap "the fault suite"

test_network_up

log "fault suite (long): every process killed in turn under load"
cd gateway && LEDGER_FAULTS=long npx mocha --no-config --node-option import=tsx --timeout 7200000 test/faults/fault-suite.test.ts
