#!/usr/bin/env bash
# Builds the Fabric binaries the network runs — peer, orderer, configtxgen, osnadmin, cryptogen,
# configtxlator, discover, the chaincode-as-a-service builder (detect/build/release) and
# fabric-ca-server/client — from the Go module proxy at pinned versions, into $FABRIC_HOME
# (default ~/.cache/compliance-ledger/fabric). Does nothing when the right versions are there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

FABRIC_RELEASE=3.1.5
FABRIC_COMMIT=86c1172bec37e6590c6b1ae6f847833df48d65fc
# The module path has no /v3 suffix, so v3.1.5 is not a valid module version; this is the
# pseudo-version the go command derives for that commit.
FABRIC_MODULE_VERSION=v1.4.0-rc1.0.20260618074816-86c1172bec37
FABRIC_CA_VERSION=v1.5.21

bin="$FABRIC_HOME/bin"
builder="$FABRIC_HOME/ccaas_builder/bin"
build_root="$FABRIC_HOME/build"

fabric_ok() {
  for b in peer orderer configtxgen osnadmin cryptogen configtxlator discover; do [ -x "$bin/$b" ] || return 1; done
  for b in detect build release; do [ -x "$builder/$b" ] || return 1; done
  "$bin/peer" version 2>/dev/null | grep -q "Version: v\?$FABRIC_RELEASE\$"
}
ca_ok() {
  [ -x "$bin/fabric-ca-server" ] && [ -x "$bin/fabric-ca-client" ] &&
    "$bin/fabric-ca-server" version 2>/dev/null | grep -q "Version: ${FABRIC_CA_VERSION#v}\$"
}

if fabric_ok && ca_ok; then
  log "Fabric $FABRIC_RELEASE and Fabric CA ${FABRIC_CA_VERSION#v} are ready in $FABRIC_HOME"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "Go is not installed. Building Fabric needs Go >= 1.26.4 and gcc. Install Go (https://go.dev/dl/ or your distribution's golang package), put it on PATH, and run $0 again — or place Fabric $FABRIC_RELEASE's release binaries in $FABRIC_HOME/bin and $FABRIC_HOME/ccaas_builder/bin."
command -v gcc >/dev/null 2>&1 || die "gcc is missing: fabric-ca-server needs cgo for SQLite. Install it with 'apt-get install -y gcc'."
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[ "$go_minor" -ge 26 ] || die "Go $(go env GOVERSION) is too old: Fabric $FABRIC_RELEASE needs Go >= 1.26.4"

export GOTOOLCHAIN=local GOFLAGS=-mod=mod
mkdir -p "$bin" "$builder" "$build_root"
t0=$(date +%s)

# Builds commands of a module through a throwaway module that requires it at the pinned version:
# `go install pkg@version` also asks the proxy for the module's version list, which some proxies
# refuse even when they serve the version itself.
build_from_module() {
  local dir=$1 module=$2 version=$3 out=$4 cgo=$5 ldflags=$6; shift 6
  mkdir -p "$dir"
  printf 'module build.local/%s\n\ngo 1.26\n\nrequire %s %s\n' "$(basename "$dir")" "$module" "$version" >"$dir/go.mod"
  { echo '//go:build tools'; echo; echo 'package tools'; echo; echo 'import ('
    for p in "$@"; do echo "	_ \"$p\""; done; echo ')'; } >"$dir/tools.go"
  log "    resolving $module@$version and its dependencies through $(go env GOPROXY | cut -d, -f1)"
  if ! (cd "$dir" && go mod tidy >"$dir/tidy.log" 2>&1); then
    sed 's/^/    /' "$dir/tidy.log" >&2
    return 1
  fi
  for p in "$@"; do
    local s; s=$(date +%s)
    (cd "$dir" && CGO_ENABLED=$cgo go build -trimpath -ldflags "$ldflags" -o "$out/" "$p") || return 1
    log "    built $(basename "$p") in $(( $(date +%s) - s ))s"
  done
}

if ! ca_ok; then
  log "[1/2] Fabric CA ${FABRIC_CA_VERSION#v}: fabric-ca-server, fabric-ca-client (cgo, about 1-2 minutes)"
  build_from_module "$build_root/fabric-ca" github.com/hyperledger/fabric-ca "$FABRIC_CA_VERSION" "$bin" 1 "" \
    github.com/hyperledger/fabric-ca/cmd/fabric-ca-server github.com/hyperledger/fabric-ca/cmd/fabric-ca-client \
    || die "building Fabric CA ${FABRIC_CA_VERSION#v} failed (see above)"
fi

if ! fabric_ok; then
  log "[2/2] Fabric $FABRIC_RELEASE (commit ${FABRIC_COMMIT:0:12}): peer, orderer, configtxgen, osnadmin, cryptogen, configtxlator, discover, ccaas builder (several minutes on 2 cores)"
  ld="-X github.com/hyperledger/fabric/common/metadata.Version=$FABRIC_RELEASE -X github.com/hyperledger/fabric/common/metadata.CommitSHA=${FABRIC_COMMIT:0:7}"
  cmds=()
  for c in peer orderer configtxgen osnadmin cryptogen configtxlator discover; do cmds+=("github.com/hyperledger/fabric/cmd/$c"); done
  if ! build_from_module "$build_root/fabric" github.com/hyperledger/fabric "$FABRIC_MODULE_VERSION" "$bin" 0 "$ld" "${cmds[@]}" ||
     ! build_from_module "$build_root/ccaas" github.com/hyperledger/fabric/ccaas_builder "$FABRIC_MODULE_VERSION" "$builder" 0 "" \
       github.com/hyperledger/fabric/ccaas_builder/cmd/detect github.com/hyperledger/fabric/ccaas_builder/cmd/build github.com/hyperledger/fabric/ccaas_builder/cmd/release; then
    die "the Go module proxy ($(go env GOPROXY)) did not serve github.com/hyperledger/fabric@$FABRIC_MODULE_VERSION (Fabric $FABRIC_RELEASE). Either set GOPROXY to a proxy that serves it (for example your organisation's module mirror) and run $0 again, or put Fabric $FABRIC_RELEASE's binaries (peer, orderer, configtxgen, osnadmin, cryptogen, configtxlator, discover) in $bin and the ccaas builder (detect, build, release) in $builder. No network can start without them."
  fi
  fabric_ok || die "the binaries in $bin do not report Fabric $FABRIC_RELEASE ('peer version' says: $("$bin/peer" version 2>&1 | grep Version))"
fi
log "Fabric binaries ready in $FABRIC_HOME after $(( $(date +%s) - t0 ))s"
