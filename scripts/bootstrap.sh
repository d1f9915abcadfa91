#!/usr/bin/env bash
# Brings a fresh clone to a runnable state: Debian packages (when root), npm packages, a build,
# and the Fabric binaries. Prints LEDGER_NETWORK_UNAVAILABLE=<reason> on stdout when Fabric
# cannot be had, so callers can run everything else and say exactly what was not tested.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
cd "$repo_root"

# Debian packages the stack and its tests use: servers (PostgreSQL, Mosquitto), openssl and curl
# for the scripts, ImageMagick and CJK fonts to render certificate images for OCR tests.
debian_packages=(postgresql mosquitto openssl curl perl imagemagick fonts-noto-cjk)

log "bootstrap 1/5: Debian packages"
missing=()
for p in "${debian_packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  log "    all present"
elif [ "$(id -u)" = 0 ]; then
  log "    installing ${missing[*]} with apt-get (cached in /var/cache/apt for the next run)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "    WARNING: missing ${missing[*]} and not root: install them with 'sudo apt-get install ${missing[*]}'"
fi

log "bootstrap 2/5: npm packages"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # pkcs11js (HSM support, optional in fabric-gateway) has its install script denied in allowScripts: no HSM is used.
  npm ci --no-audit --no-fund --loglevel=error
else
  log "    node_modules is up to date with package-lock.json"
fi

log "bootstrap 3/5: TypeScript build (tsc -b)"
npx tsc -b

log "bootstrap 4/5: Fabric binaries"
if ! out=$(bash "$here/install-fabric.sh" 2>&1 | tee /dev/stderr); then
  reason=$(echo "$out" | grep 'ERROR:' | tail -n1 | sed 's/^.*ERROR: //')
  echo "LEDGER_NETWORK_UNAVAILABLE=${reason:-Fabric binaries could not be installed}"
fi

# kubo is only needed by the tests that compare the gateway's embedded IPFS blockstore with a real
# daemon; without it those tests are skipped and say so.
log "bootstrap 5/5: kubo (IPFS daemon for the gateway's CID tests)"
if ! bash "$here/install-kubo.sh" >/dev/null; then
  log "    WARNING: kubo could not be built (see the message above); the kubo comparison tests will be skipped"
fi
