#!/usr/bin/env bash
# Installs the Fabric binaries the network runs — peer, orderer, configtxgen, osnadmin, cryptogen,
# configtxlator, discover, the chaincode-as-a-service builder (detect/build/release) and
# fabric-ca-server/client — at pinned versions into $FABRIC_HOME
# (default ~/.cache/compliance-ledger/fabric). Fabric comes from the first of three ways that works:
#   1. the binaries already in $FABRIC_HOME (nothing is done);
#   2. the Go module proxy ($GOPROXY);
#   3. a Fabric source archive ($FABRIC_SOURCE_ARCHIVE, by default shared/vendor/fabric-3.1.5-src.tar.xz
#      beside the clone), checked against the sha256 pinned below before anything is extracted, and
#      built with -mod=vendor: the air-gapped install.
# Fabric CA comes from the Go module proxy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

FABRIC_RELEASE=3.1.5
FABRIC_COMMIT=86c1172bec37e6590c6b1ae6f847833df48d65fc
# The module path has no /v3 suffix, so v3.1.5 is not a valid module version; this is the
# pseudo-version the go command derives for that commit.
FABRIC_MODULE_VERSION=v1.4.0-rc1.0.20260618074816-86c1172bec37
# `git archive --prefix=fabric-3.1.5/ v3.1.5` of that commit (without docs/, vagrant/,
# release_notes/, .github/), xz -9. A different archive is refused, whatever its name.
FABRIC_SOURCE_SHA256=e1f5ed856ca249e775b11a4f89b3bdfa513a25c13620f803d4d0988653b226ed
FABRIC_SOURCE_NAME=fabric-$FABRIC_RELEASE-src.tar.xz
FABRIC_CA_VERSION=v1.5.21

bin="$FABRIC_HOME/bin"
builder="$FABRIC_HOME/ccaas_builder/bin"
build_root="$FABRIC_HOME/build"
fabric_cmds=(peer orderer configtxgen osnadmin cryptogen configtxlator discover)

# The Fabric release a binary reports. peer, orderer, cryptogen and configtxlator print it with
# `version`, configtxgen with --version. osnadmin and discover have no version command: their Go
# build information holds the -ldflags that set Fabric's version (the builds below keep it there
# by not using -trimpath).
binary_version() {
  local b=$1 out
  case "$b" in
    configtxgen) out=$("$bin/$b" --version 2>&1) ;;
    osnadmin|discover) out=$(grep -ao 'common/metadata\.Version=[0-9A-Za-z.-]*' "$bin/$b" | head -n1 | sed 's/.*=/Version: /') ;;
    *) out=$("$bin/$b" version 2>&1) ;;
  esac
  echo "$out" | sed -n 's/^ *Version: *v\{0,1\}\([^ ]*\).*$/\1/p' | head -n1
}
fabric_ok() {
  for b in "${fabric_cmds[@]}"; do [ -x "$bin/$b" ] || return 1; done
  for b in detect build release; do [ -x "$builder/$b" ] || return 1; done
  for b in "${fabric_cmds[@]}"; do [ "$(binary_version "$b")" = "$FABRIC_RELEASE" ] || return 1; done
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

export GOTOOLCHAIN=local
mkdir -p "$bin" "$builder" "$build_root"
t0=$(date +%s)
ld="-X github.com/hyperledger/fabric/common/metadata.Version=$FABRIC_RELEASE -X github.com/hyperledger/fabric/common/metadata.CommitSHA=${FABRIC_COMMIT:0:7}"

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
  if ! (cd "$dir" && GOFLAGS=-mod=mod go mod tidy >"$dir/tidy.log" 2>&1); then
    sed 's/^/    /' "$dir/tidy.log" | tail -n 5 >&2
    return 1
  fi
  for p in "$@"; do
    local s; s=$(date +%s)
    (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=$cgo go build -ldflags "$ldflags" -o "$out/" "$p") || return 1
    log "    built $(basename "$p") in $(( $(date +%s) - s ))s"
  done
}

# The archive named by FABRIC_SOURCE_ARCHIVE, else shared/vendor/<name> in the clone's parent
# folder or one above it (where a workspace keeps vendored sources beside its checkouts).
source_archive() {
  if [ -n "${FABRIC_SOURCE_ARCHIVE:-}" ]; then echo "$FABRIC_SOURCE_ARCHIVE"; return; fi
  local d=$repo_root
  for _ in 1 2 3; do
    d=$(dirname "$d")
    if [ -f "$d/shared/vendor/$FABRIC_SOURCE_NAME" ]; then echo "$d/shared/vendor/$FABRIC_SOURCE_NAME"; return; fi
  done
}

# Builds Fabric from its source archive with the vendor/ tree Fabric keeps in its repository: no
# network, except the ccaas builder, a module of its own that Fabric does not vendor (two small
# dependencies from the Go module proxy, or from the module cache when it holds them).
build_from_archive() {
  local archive=$1 src="$build_root/source" got s
  log "    checking $archive against the pinned sha256"
  got=$(sha256sum "$archive" | cut -d' ' -f1)
  if [ "$got" != "$FABRIC_SOURCE_SHA256" ]; then
    die "the Fabric source archive $archive has sha256 $got, not the pinned $FABRIC_SOURCE_SHA256 (Fabric $FABRIC_RELEASE at commit $FABRIC_COMMIT). Nothing was extracted or built. Replace it with the archive described in README.md ('Installing Fabric without internet'), or set FABRIC_SOURCE_ARCHIVE to the right file."
  fi
  rm -rf "$src"; mkdir -p "$src"
  log "    extracting into $src"
  tar -xJf "$archive" -C "$src" --strip-components=1
  [ -f "$src/go.mod" ] && [ -d "$src/vendor" ] || die "$archive has no go.mod and vendor/ at its top: it is not a Fabric source archive"
  for c in "${fabric_cmds[@]}"; do
    s=$(date +%s)
    (cd "$src" && GOFLAGS=-mod=vendor CGO_ENABLED=0 go build -ldflags "$ld" -o "$bin/$c" "./cmd/$c") || return 1
    log "    built $c in $(( $(date +%s) - s ))s"
  done
  log "    ccaas builder (its module's two dependencies come from the Go module cache or proxy)"
  for c in detect build release; do
    (cd "$src/ccaas_builder" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$builder/$c" "./cmd/$c") || return 1
  done
  rm -rf "$src"
}

if ! ca_ok; then
  log "[1/2] Fabric CA ${FABRIC_CA_VERSION#v}: fabric-ca-server, fabric-ca-client (cgo, about 1-2 minutes)"
  build_from_module "$build_root/fabric-ca" github.com/hyperledger/fabric-ca "$FABRIC_CA_VERSION" "$bin" 1 "" \
    github.com/hyperledger/fabric-ca/cmd/fabric-ca-server github.com/hyperledger/fabric-ca/cmd/fabric-ca-client \
    || die "building Fabric CA ${FABRIC_CA_VERSION#v} failed (see above): it comes from the Go module proxy ($(go env GOPROXY)); set GOPROXY to a proxy or mirror that serves github.com/hyperledger/fabric-ca@$FABRIC_CA_VERSION, or put fabric-ca-server and fabric-ca-client ${FABRIC_CA_VERSION#v} in $bin"
fi

if ! fabric_ok; then
  log "[2/2] Fabric $FABRIC_RELEASE (commit ${FABRIC_COMMIT:0:12}): ${fabric_cmds[*]}, ccaas builder"
  log "    way 1 of 3, the binaries in $FABRIC_HOME: not there or not $FABRIC_RELEASE"
  log "    way 2 of 3, the Go module proxy"
  cmds=()
  for c in "${fabric_cmds[@]}"; do cmds+=("github.com/hyperledger/fabric/cmd/$c"); done
  if build_from_module "$build_root/fabric" github.com/hyperledger/fabric "$FABRIC_MODULE_VERSION" "$bin" 0 "$ld" "${cmds[@]}" &&
     build_from_module "$build_root/ccaas" github.com/hyperledger/fabric/ccaas_builder "$FABRIC_MODULE_VERSION" "$builder" 0 "" \
       github.com/hyperledger/fabric/ccaas_builder/cmd/detect github.com/hyperledger/fabric/ccaas_builder/cmd/build github.com/hyperledger/fabric/ccaas_builder/cmd/release; then
    log "    built from the Go module proxy"
  else
    archive=$(source_archive)
    log "    the proxy did not serve github.com/hyperledger/fabric@$FABRIC_MODULE_VERSION"
    log "    way 3 of 3, the source archive ${archive:-(none: FABRIC_SOURCE_ARCHIVE is not set and no shared/vendor/$FABRIC_SOURCE_NAME is beside the clone)} (about 90 s on 2 cores)"
    if [ -z "$archive" ]; then
      way3="no source archive: FABRIC_SOURCE_ARCHIVE is not set and there is no shared/vendor/$FABRIC_SOURCE_NAME beside the clone"
    elif [ ! -f "$archive" ]; then
      way3="the source archive $archive does not exist"
    elif ! build_from_archive "$archive"; then
      way3="the source archive $archive did not build (see above)"
    fi
    if [ -n "${way3:-}" ]; then
      die "Fabric $FABRIC_RELEASE could not be installed in any of the three ways: (1) no Fabric $FABRIC_RELEASE binaries in $bin and $builder; (2) the Go module proxy ($(go env GOPROXY)) did not serve github.com/hyperledger/fabric@$FABRIC_MODULE_VERSION; (3) $way3. Put the binaries there, point GOPROXY at a mirror that serves the module, or set FABRIC_SOURCE_ARCHIVE to $FABRIC_SOURCE_NAME (sha256 $FABRIC_SOURCE_SHA256; see README.md, 'Installing Fabric without internet'). No network can start without Fabric."
    fi
  fi
  for b in "${fabric_cmds[@]}"; do
    v=$(binary_version "$b")
    [ "$v" = "$FABRIC_RELEASE" ] || die "$bin/$b reports version '${v:-none}', not $FABRIC_RELEASE"
  done
  log "    every binary reports $FABRIC_RELEASE"
fi
log "Fabric binaries ready in $FABRIC_HOME after $(( $(date +%s) - t0 ))s"
