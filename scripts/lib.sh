# Shared settings for the shell scripts. Every variable can be overridden from the environment;
# README.md documents them.
: "${FABRIC_HOME:=${XDG_CACHE_HOME:-$HOME/.cache}/compliance-ledger/fabric}"
: "${LEDGER_RUN_DIR:=${XDG_STATE_HOME:-$HOME/.local/state}/compliance-ledger/run}"
export FABRIC_HOME LEDGER_RUN_DIR
export PATH="$FABRIC_HOME/bin:$PATH"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }
