#!/usr/bin/env bash
# Builds kubo (the IPFS daemon, `ipfs`) from the Go module proxy into a cache outside the repo
# ($KUBO_HOME, default ~/.cache/compliance-ledger/kubo). The gateway's tests start a daemon on
# loopback ports with their own IPFS_PATH to check that the embedded blockstore gives the same
# CIDs as kubo. Does nothing when the pinned version is already there. Prints the binary's path.
set -euo pipefail
KUBO_VERSION=${KUBO_VERSION:-v0.43.1}
KUBO_HOME=${KUBO_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/compliance-ledger/kubo}
bin="$KUBO_HOME/bin/ipfs"
log() { echo "[install-kubo] $*" >&2; }

if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q "${KUBO_VERSION#v}"; then
  echo "$bin"; exit 0
fi
command -v go >/dev/null 2>&1 || { log "Go is not installed: kubo is built from the Go module proxy"; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
mkdir -p "$KUBO_HOME/bin"
log "building kubo $KUBO_VERSION into $KUBO_HOME (a few minutes)"
# kubo's go.mod carries replace directives, so neither `go install pkg@version` nor a throwaway
# module that requires kubo builds it as released: build inside a copy of the module itself,
# where its go.mod and go.sum (and replaces) apply as they do for kubo's own release builds.
src=$(go mod download -json "github.com/ipfs/kubo@$KUBO_VERSION" 2>"$KUBO_HOME/install.log" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$src" ] && [ -d "$src" ] || { log "could not download github.com/ipfs/kubo@$KUBO_VERSION through $(go env GOPROXY | cut -d, -f1): see $KUBO_HOME/install.log"; exit 1; }
work="$KUBO_HOME/src"
rm -rf "$work"; cp -r "$src" "$work"; chmod -R u+w "$work"
if ! (cd "$work" && go build -trimpath -o "$KUBO_HOME/bin/ipfs" ./cmd/ipfs) >>"$KUBO_HOME/install.log" 2>&1; then
  # v0.43.1 replaces go-libp2p with a fork (github.com/lidel/go-libp2p) that some proxies refuse
  # (403). Without the fork, go-libp2p v0.49.0 builds with the quic-go and webtransport-go it was
  # released with; the IPFS data model (UnixFS, chunking, CIDs) does not depend on that transport.
  if grep -q "lidel/go-libp2p" "$work/go.mod" && grep -q "403\|not available" "$KUBO_HOME/install.log"; then
    log "the go-libp2p fork kubo replaces with is not available from the proxy; building with go-libp2p as released"
    (cd "$work" && go mod edit -dropreplace github.com/libp2p/go-libp2p \
        -require github.com/quic-go/quic-go@v0.60.0 -require github.com/quic-go/webtransport-go@v0.11.1 &&
      go build -trimpath -o "$KUBO_HOME/bin/ipfs" ./cmd/ipfs) >>"$KUBO_HOME/install.log" 2>&1 \
      || { log "building kubo failed: see $KUBO_HOME/install.log"; exit 1; }
  else
    log "building kubo failed: see $KUBO_HOME/install.log"; exit 1
  fi
fi
rm -rf "$work"
"$bin" version >&2
echo "$bin"
