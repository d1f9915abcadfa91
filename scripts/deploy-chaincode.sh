#!/usr/bin/env bash
# Builds chaincode/, packages it as chaincode-as-a-service, installs it on both peers, approves it
# for both orgs and commits it. Each org runs its own chaincode server for its own peer, as it
# would in production: the server knows its peer's MSP id (CORE_PEER_LOCALMSPID), which the
# chaincode uses to keep personal data off any peer but the enterprise's.
#
# Upgrades have no gap: each org's new server starts on the idle one of its two ports (active and
# standby) before the new definition is committed, its peer switches at commit, and only then is
# the old server stopped. The ledger is never touched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

# Both orgs must endorse every transaction: a write needs the enterprise (who does the work) and
# the regulator (who watches it), so neither can forge or rewrite the trail alone. With several
# enterprises (scripts/org-add.sh) the definition cannot name all of them (no enterprise endorses
# another's work), so it admits any one enterprise AND the regulator; each record's key-level
# policy, set when it is created (chaincode/src/ownership.ts), then narrows it to its own enterprise.
if [ -z "${LEDGER_ENDORSEMENT_POLICY:-}" ]; then
  enterprises=(enterprise $(added_orgs))
  if [ ${#enterprises[@]} = 1 ]; then
    LEDGER_ENDORSEMENT_POLICY="AND('EnterpriseMSP.peer','RegulatorMSP.peer')"
  else
    LEDGER_ENDORSEMENT_POLICY="OR($(for e in "${enterprises[@]}"; do printf "AND('%s.peer','RegulatorMSP.peer')," "$(org_msp "$e")"; done | sed 's/,$//'))"
  fi
fi
orgs=($(peer_orgs))
cc_dir="$LEDGER_RUN_DIR/chaincode"
cc_tls="$cc_dir/tls"
external=$([ "${LEDGER_CHAINCODE_SERVER:-local}" = external ] && echo 1 || echo 0)
mkdir -p "$cc_dir" "$pid_dir" "$log_dir"

[ -f "$LEDGER_RUN_DIR/config/$LEDGER_CHANNEL.block" ] || die "no network in $LEDGER_RUN_DIR: run 'bash scripts/network.sh up' first"

# One deployment at a time: two at once would race for the sequence number and the server ports.
exec 9>"$cc_dir/.deploy.lock"
flock -w 600 9 || die "another deployment holds $cc_dir/.deploy.lock"

log "[1/6] building the chaincode (tsc -b chaincode)"
(cd "$repo_root" && npx tsc -b chaincode)

# TLS between the peers and the chaincode server, with a CA of its own: the peers present a client
# certificate, the chaincode server accepts only certificates from that CA.
ensure_chaincode_tls() {
  [ -f "$cc_tls/server.crt" ] && return
  log "creating TLS material for the peer ↔ chaincode link"
  mkdir -p "$cc_tls"
  (
    cd "$cc_tls"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/O=compliance-ledger/CN=chaincode-tls-ca" -out ca.crt 2>/dev/null
    for who in server client; do
      openssl ecparam -name prime256v1 -genkey -noout -out "$who.key" 2>/dev/null
      openssl req -new -key "$who.key" -subj "/O=compliance-ledger/CN=chaincode-$who" -out "$who.csr" 2>/dev/null
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=%s\n' \
        "$([ "$who" = server ] && echo serverAuth || echo clientAuth)" >"$who.ext"
      openssl x509 -req -in "$who.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 -extfile "$who.ext" -out "$who.crt" 2>/dev/null
    done
    rm -f ./*.csr ./*.ext
    chmod 600 ./*.key
  )
}
ensure_chaincode_tls

# The label names the code: same code, same label; changed code, a new package and sequence.
# LEDGER_CHAINCODE_SALT forces a new package for unchanged code (for example to roll the chaincode
# server's TLS material); it is empty normally.
# The layout number changes when the packaging itself changes (2: one server per org).
package_layout=2
code_hash=$(cd "$repo_root" && { find chaincode/dist schema/dist -type f -name '*.js' -print0 | sort -z | xargs -0 cat chaincode/package.json schema/package.json; printf '%s' "layout-$package_layout ${LEDGER_CHAINCODE_SALT:-}"; } | sha256sum | cut -c1-12)

# Networks deployed by the first layout ran one server for both peers: stop it once (a short gap).
for f in "$pid_dir/chaincode.pid" "$pid_dir"/chaincode-[0-9]*.pid; do
  [ -f "$f" ] || continue
  log "stopping a chaincode server of the earlier one-server layout ($(basename "$f"))"
  stop_pid "$f" "fabric-shim/cli.js server"
done
rm -f "$cc_dir/running-package-id" "$cc_dir/active-port"
label="${LEDGER_CHAINCODE}_${code_hash}"

# An org's package: the label plus the address of that org's server. Each org approves its own
# package id, so the orgs' servers can live on different hosts.
make_package() {
  local org=$1 port=$2 pkg="$cc_dir/$label-$1-$2.tar.gz"
  if [ ! -f "$pkg" ]; then
    local work; work=$(mktemp -d)
    node -e '
      const fs = require("fs");
      const [dir, addr] = process.argv.slice(1);
      const pem = (f) => fs.readFileSync(`${dir}/${f}`, "utf8");
      process.stdout.write(JSON.stringify({
        address: addr, dial_timeout: "10s", tls_required: true, client_auth_required: true,
        root_cert: pem("ca.crt"), client_cert: pem("client.crt"), client_key: pem("client.key"),
      }, null, 2));' "$cc_tls" "127.0.0.1:$port" >"$work/connection.json"
    printf '{"type":"ccaas","label":"%s"}\n' "$label" >"$work/metadata.json"
    tar -C "$work" -czf "$work/code.tar.gz" connection.json
    tar -C "$work" -czf "$pkg" metadata.json code.tar.gz
    rm -rf "$work"
  fi
  echo "$pkg"
}

# What `peer lifecycle chaincode calculatepackageid` prints (<label>:<sha256 of the package file>),
# without starting the peer CLI once per org.
package_id_of() { echo "$label:$(sha256sum "$1" | cut -d' ' -f1)"; }

# Starts an org's chaincode server for a package id on a port; pid in chaincode-<org>-<port>.pid.
start_server() {
  local org=$1 id=$2 port=$3 pidf="$pid_dir/chaincode-$1-$3.pid"
  stop_pid "$pidf" "fabric-shim/cli.js server"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is taken by a process this script did not start; stop it or set the ${org^^}_CHAINCODE_*PORT variables"
  fi
  (
    cd "$repo_root/chaincode"
    # The shim logs every transaction at INFO through winston; under load that was about 15 % of a
    # chaincode server's CPU (bench/RESULTS.md, saturation). Errors and warnings still reach the log.
    CORE_PEER_LOCALMSPID=$(org_msp "$org") CORE_CHAINCODE_LOGGING_LEVEL=$LEDGER_CHAINCODE_LOG_LEVEL nohup node "$repo_root/node_modules/fabric-shim/cli.js" server \
      --chaincode-address "127.0.0.1:$port" --chaincode-id "$id" \
      --chaincode-tls-cert-file "$cc_tls/server.crt" --chaincode-tls-key-file "$cc_tls/server.key" \
      --chaincode-tls-client-cacert-file "$cc_tls/ca.crt" --module-path "$repo_root/chaincode" \
      >>"$log_dir/chaincode-$org.log" 2>&1 9>&- &
    echo $! >"$pidf"
  )
  wait_tcp "$port" 30 || { tail -n 20 "$log_dir/chaincode-$org.log" >&2; die "the $org chaincode server did not listen on $port"; }
  log "    $org chaincode server on 127.0.0.1:$port (pid $(cat "$pidf"), log $log_dir/chaincode-$org.log)"
}

# An org's active server: chaincode-<org>.pid, package-id-<org> and active-port-<org> describe it.
activate() {
  local org=$1 id=$2 port=$3
  cp "$pid_dir/chaincode-$org-$port.pid" "$pid_dir/chaincode-$org.pid" 2>/dev/null || true
  echo "$id" >"$cc_dir/package-id-$org"
  echo "$port" >"$cc_dir/active-port-$org"
}

use_live_orderer  # sets orderer_args

json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const v=process.argv[1].split(".").reduce((o,k)=>o?.[k],JSON.parse(s));console.log(v??"")}catch{console.log("")}})' "$1"; }
committed_sequence=$( (peer_admin_env enterprise; peer lifecycle chaincode querycommitted -C "$LEDGER_CHANNEL" -n "$LEDGER_CHAINCODE" -O json 2>/dev/null) | json_field sequence || true)
committed_sequence=${committed_sequence:-0}
# The package each org approved for the committed sequence (a later, uncommitted approval does not count).
approved_id() {
  [ "$committed_sequence" = 0 ] && return 0
  (peer_admin_env "$1"; peer lifecycle chaincode queryapproved -C "$LEDGER_CHANNEL" -n "$LEDGER_CHAINCODE" --sequence "$committed_sequence" -O json 2>/dev/null) \
    | json_field source.Type.LocalPackage.package_id || true
}
active_port() { cat "$cc_dir/active-port-$1" 2>/dev/null || org_cc_port "$1"; }

declare -A approved
for org in "${orgs[@]}"; do approved[$org]=$(approved_id "$org"); done
# The endorsement policy of the committed definition, as this script committed it.
all_approved() { local o; for o in "${orgs[@]}"; do [ "${approved[$o]%%:*}" = "$label" ] || return 1; done; }
same_policy() { [ "$(cat "$cc_dir/committed-policy" 2>/dev/null || echo "AND('EnterpriseMSP.peer','RegulatorMSP.peer')")" = "$LEDGER_ENDORSEMENT_POLICY" ]; }

if [ "$committed_sequence" != 0 ] && all_approved && same_policy; then
  log "[2/6] $LEDGER_CHAINCODE sequence $committed_sequence already runs this code ($label)"
  for org in "${orgs[@]}"; do
    id=${approved[$org]}
    if [ "$external" = 1 ]; then
      echo "$id" >"$cc_dir/package-id-$org"
    elif pid_alive "$pid_dir/chaincode-$org.pid" && [ "$(cat "$cc_dir/package-id-$org" 2>/dev/null)" = "$id" ]; then
      log "[3/6] $org chaincode server running (pid $(cat "$pid_dir/chaincode-$org.pid"))"
    else
      log "[3/6] starting the $org chaincode server again"
      start_server "$org" "$id" "$(active_port "$org")"
      activate "$org" "$id" "$(active_port "$org")"
    fi
  done
  wait_discovery "$LEDGER_CHAINCODE"
  log "[6/6] deployed"
  exit 0
fi

declare -A new_port new_id
for org in "${orgs[@]}"; do
  # The new server goes to the port the current one does not use (containers: always the first).
  if [ "$external" = 1 ] || [ "$committed_sequence" = 0 ] || [ "$(active_port "$org")" != "$(org_cc_port "$org")" ] || ! pid_alive "$pid_dir/chaincode-$org.pid"; then
    new_port[$org]=$(org_cc_port "$org")
  else
    new_port[$org]=$(org_cc_standby_port "$org")
  fi
  pkg=$(make_package "$org" "${new_port[$org]}")
  new_id[$org]=$(package_id_of "$pkg")
  log "[2/6] $org: packaged $label for its server at 127.0.0.1:${new_port[$org]} (mutual TLS): ${new_id[$org]}"
done

# An org's package installed on its peer and its new server listening.
prepare_org() {
  local org=$1 pkg; pkg=$(make_package "$1" "${new_port[$1]}")
  (
    peer_admin_env "$org"
    if peer lifecycle chaincode queryinstalled 2>/dev/null | grep -q "Package ID: ${new_id[$org]},"; then
      log "[3/6] $org: already installed on its peer"
    else
      # queryinstalled can miss a package (a busy peer, an answer cut off): the peer's own
      # "already successfully installed" refusal then means the same as success.
      ok=1; out=$(peer lifecycle chaincode install "$pkg" 2>&1) || ok=0
      printf '%s\n' "$out" >>"$log_dir/cli.log"
      if [ "$ok" = 1 ]; then
        log "[3/6] $org: installed on its peer"
      elif grep -q "chaincode already successfully installed" <<<"$out"; then
        log "[3/6] $org: already installed on its peer"
      else
        tail -n 5 <<<"$out" >&2; die "install on the $org peer failed"
      fi
    fi
  )
  if [ "$external" = 1 ]; then
    echo "${new_id[$org]}" >"$cc_dir/package-id-$org"
    wait_tcp "$(org_cc_port "$org")" 120 || die "no $org chaincode server on 127.0.0.1:$(org_cc_port "$org") (LEDGER_CHAINCODE_SERVER=external)"
    log "[4/6] $org: external chaincode server on 127.0.0.1:$(org_cc_port "$org")"
  else
    log "[4/6] $org: starting the new chaincode server before the switch"
    start_server "$org" "${new_id[$org]}" "${new_port[$org]}"
  fi
}
# The orgs side by side: each is its own peer and its own server, and one after another they would
# add a Node start each to every upgrade and onboarding.
prepared=()
for org in "${orgs[@]}"; do
  prepare_org "$org" &
  prepared+=($!)
done
prepare_failed=0
for pid in "${prepared[@]}"; do wait "$pid" || prepare_failed=1; done
[ "$prepare_failed" = 0 ] || die "the package is not installed and running for every org (above)"

next=$((committed_sequence + 1))
log "[5/6] approving $LEDGER_CHAINCODE sequence $next for ${orgs[*]} (endorsement policy $LEDGER_ENDORSEMENT_POLICY)"
# Side by side: each org's approval is a transaction of its own, on its own keys, so they do not
# conflict, and with several enterprises waiting for each commit in turn would add a block time each.
approvals=()
for org in "${orgs[@]}"; do
  (
    peer_admin_env "$org"
    out=$(peer lifecycle chaincode approveformyorg "${orderer_args[@]}" --channelID "$LEDGER_CHANNEL" --name "$LEDGER_CHAINCODE" \
      --version "$code_hash" --package-id "${new_id[$org]}" --sequence "$next" \
      --signature-policy "$LEDGER_ENDORSEMENT_POLICY" --waitForEvent 2>&1) || { printf '%s\n' "$out" | tail -n 5 >&2; die "approval by $org failed"; }
    printf '%s\n' "$out" >>"$log_dir/cli.log"
  ) &
  approvals+=($!)
done
approval_failed=0
for pid in "${approvals[@]}"; do wait "$pid" || approval_failed=1; done
[ "$approval_failed" = 0 ] || die "not every org approved sequence $next (above)"
log "[6/6] committing sequence $next"
# The channel's LifecycleEndorsement (MAJORITY Endorsement): every org's peer endorses the commit.
peer_args=()
for org in "${orgs[@]}"; do peer_args+=(--peerAddresses "127.0.0.1:$(org_peer_port "$org")" --tlsRootCertFiles "$(peer_node_dir "$org")/tls/ca.crt"); done
(
  peer_admin_env enterprise
  peer lifecycle chaincode commit "${orderer_args[@]}" --channelID "$LEDGER_CHANNEL" --name "$LEDGER_CHAINCODE" \
    --version "$code_hash" --sequence "$next" --signature-policy "$LEDGER_ENDORSEMENT_POLICY" "${peer_args[@]}" \
    --waitForEvent >>"$log_dir/cli.log" 2>&1 || { tail -n 5 "$log_dir/cli.log" >&2; die "commit failed"; }
)
echo "$LEDGER_ENDORSEMENT_POLICY" >"$cc_dir/committed-policy"
if [ "$external" = 0 ]; then
  for org in "${orgs[@]}"; do
    old=$(active_port "$org")
    [ "${new_port[$org]}" != "$old" ] && stop_pid "$pid_dir/chaincode-$org-$old.pid" "fabric-shim/cli.js server"
    activate "$org" "${new_id[$org]}" "${new_port[$org]}"
  done
fi
# Committed is not yet usable: each org's gateway must see every org's peer with it (onboarding).
wait_discovery "$LEDGER_CHAINCODE"
log "deployed $LEDGER_CHAINCODE sequence $next ($label) on channel $LEDGER_CHANNEL"
