#!/usr/bin/env bash
# Brings a fresh clone to a runnable state: Debian packages (when root), npm packages, a build,
# the Fabric binaries, kubo, the risk model's Python packages and the API fuzzer. Prints
# LEDGER_NETWORK_UNAVAILABLE=<reason> on stdout when Fabric cannot be had, so callers can run
# everything else and say exactly what was not tested; likewise LEDGER_MODEL_PYTHON=<interpreter>
# or LEDGER_MODEL_UNAVAILABLE=<reason> for the model's training, LEDGER_FUZZ_PYTHON=<interpreter>
# or LEDGER_FUZZ_UNAVAILABLE=<reason> for the fuzz test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"
cd "$repo_root"

# Debian packages the stack and its tests use: servers (PostgreSQL, Mosquitto), openssl, curl and jq
# for the scripts, ImageMagick and CJK fonts to render certificate images for OCR tests, poppler-utils
# (pdftoppm, pdftotext) to render and read the monthly report's PDF in its tests, librsvg2-bin for
# the SVG delegate zbarimg's ImageMagick reads badge SVGs through (a recommendation of imagemagick,
# which --no-install-recommends leaves out: without it no SVG can be read).
debian_packages=(postgresql mosquitto openssl curl jq perl imagemagick librsvg2-bin fonts-noto-cjk chromium zbar-tools poppler-utils)

log "bootstrap 1/7: Debian packages"
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

log "bootstrap 2/7: npm packages"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # pkcs11js (HSM support, optional in fabric-gateway) has its install script denied in allowScripts: no HSM is used.
  npm ci --no-audit --no-fund --loglevel=error
else
  log "    node_modules is up to date with package-lock.json"
fi

log "bootstrap 3/7: TypeScript build (tsc -b) and the supervision screen's bundle (web/dist)"
npx tsc -b
npm run build -w @compliance-ledger/web >/dev/null

log "bootstrap 4/7: Fabric binaries"
if ! out=$(bash "$here/install-fabric.sh" 2>&1 | tee /dev/stderr); then
  reason=$(echo "$out" | grep 'ERROR:' | tail -n1 | sed 's/^.*ERROR: //')
  echo "LEDGER_NETWORK_UNAVAILABLE=${reason:-Fabric binaries could not be installed}"
fi

# kubo is only needed by the tests that compare the gateway's embedded IPFS blockstore with a real
# daemon; without it those tests are skipped and say so.
log "bootstrap 5/7: kubo (IPFS daemon for the gateway's CID tests)"
if ! bash "$here/install-kubo.sh" >/dev/null; then
  log "    WARNING: kubo could not be built (see the message above); the kubo comparison tests will be skipped"
fi

# Python packages live in virtualenvs outside the repo, one per requirements.txt and interpreter,
# so a changed pin builds a new one while another checkout keeps using its own. python_venv
# <what> <requirements.txt> <cache dir> sets venv_python (the interpreter) or venv_unavailable (why not).
python_venv() {
  local what=$1 requirements=$2 venv_root=$3 py_id key venv err reason
  venv_python="" venv_unavailable=""
  if ! py_id=$(python3 -c 'import platform, sys; print(sys.version, platform.machine())' 2>/dev/null); then
    venv_unavailable="no python3 on PATH to create the virtualenv of $what"
    return
  fi
  key=$( { cat "$requirements"; echo "$py_id"; } | sha256sum | cut -c1-16)
  venv="$venv_root/$key"
  mkdir -p "$venv_root"
  # Several checkouts may bootstrap at once; the second waits instead of building the same venv.
  exec 9>"$venv_root/.lock"
  flock 9
  if [ -f "$venv/.complete" ] && "$venv/bin/python" -c '' 2>/dev/null; then
    log "    $venv is up to date with $requirements"
  else
    log "    creating $venv (python ${py_id%% *}) and installing $requirements from PyPI"
    rm -rf "$venv"
    # Wheels only: building scipy from source would take far longer than the whole test run.
    if ! err=$( { python3 -m venv "$venv" &&
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --only-binary=:all: \
          -r "$requirements"; } 2>&1 >/dev/null); then
      echo "$err" >&2
      reason=$(echo "$err" | grep -E 'ERROR|Error' | tail -n1 | sed 's/^ERROR: //')
      if echo "$err" | grep -qE 'NewConnectionError|Failed to establish|name resolution|timed out'; then
        reason="the package index is not reachable ($reason)"
      fi
      venv_unavailable="could not install $requirements into $venv: ${reason:-see the output above}"
      rm -rf "$venv"
    else
      touch "$venv/.complete"
      log "    installed ($(du -sh "$venv" | cut -f1))"
    fi
  fi
  if [ -z "$venv_unavailable" ]; then
    # Virtualenvs of requirements no checkout has used for a month are only taking space.
    touch "$venv"
    find "$venv_root" -mindepth 1 -maxdepth 1 -type d -mtime +30 -exec rm -rf {} + 2>/dev/null || true
    venv_python="$venv/bin/python"
  fi
  flock -u 9
}
python_cache=${XDG_CACHE_HOME:-$HOME/.cache}/compliance-ledger

# The model's training test needs train.py's pinned packages.
log "bootstrap 6/7: Python packages for the risk model's training (ingest/model/requirements.txt)"
model_unavailable=""
if [ -n "${LEDGER_MODEL_PYTHON:-}" ]; then
  log "    using LEDGER_MODEL_PYTHON=$LEDGER_MODEL_PYTHON as it is"
else
  python_venv "the risk model" ingest/model/requirements.txt "${LEDGER_MODEL_VENV:-$python_cache/model-venv}"
  model_unavailable=$venv_unavailable
  [ -z "$venv_python" ] || echo "LEDGER_MODEL_PYTHON=$venv_python"
fi
if [ -n "$model_unavailable" ]; then
  log "    WARNING: $model_unavailable; the model's training test will be skipped"
  echo "LEDGER_MODEL_UNAVAILABLE=$model_unavailable"
fi

# The gateway's fuzz test runs schemathesis against the served OpenAPI document.
log "bootstrap 7/7: schemathesis for the API fuzz test (gateway/fuzz/requirements.txt)"
if [ -n "${LEDGER_FUZZ_PYTHON:-}" ]; then
  log "    using LEDGER_FUZZ_PYTHON=$LEDGER_FUZZ_PYTHON as it is"
else
  python_venv "the API fuzzer" gateway/fuzz/requirements.txt "${LEDGER_FUZZ_VENV:-$python_cache/fuzz-venv}"
  if [ -n "$venv_python" ]; then
    echo "LEDGER_FUZZ_PYTHON=$venv_python"
  else
    log "    WARNING: $venv_unavailable; the fuzz test will fail with this reason"
    echo "LEDGER_FUZZ_UNAVAILABLE=$venv_unavailable"
  fi
fi
