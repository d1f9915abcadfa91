#!/usr/bin/env bash
# Builds chaincode/, packages it as chaincode-as-a-service, installs it on both peers, approves it
# for both orgs and commits it, then (re)starts the one chaincode server that serves both peers.
# A changed chaincode gets a new package label and the next sequence number; the ledger is kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

# Both orgs must endorse every transaction: a write needs the enterprise (who does the work) and
# the regulator (who watches it), so neither can forge or rewrite the trail alone.
: "${LEDGER_ENDORSEMENT_POLICY:=AND('EnterpriseMSP.peer','RegulatorMSP.peer')}"
cc_dir="$LEDGER_RUN_DIR/chaincode"
cc_tls="$cc_dir/tls"
mkdir -p "$cc_dir" "$pid_dir" "$log_dir"

[ -f "$LEDGER_RUN_DIR/config/$LEDGER_CHANNEL.block" ] || die "no network in $LEDGER_RUN_DIR: run 'bash scripts/network.sh up' first"

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

# The label names the code: same code, same package id; changed code, new package and sequence.
# LEDGER_CHAINCODE_SALT forces a new package for unchanged code (for example to roll the chaincode
# server's TLS material); it is empty normally.
code_hash=$(cd "$repo_root" && { find chaincode/dist schema/dist -type f -name '*.js' -print0 | sort -z | xargs -0 cat chaincode/package.json schema/package.json; printf '%s' "${LEDGER_CHAINCODE_SALT:-}"; } | sha256sum | cut -c1-12)
label="${LEDGER_CHAINCODE}_${code_hash}"
pkg="$cc_dir/$label.tar.gz"

log "[2/6] packaging $label as chaincode-as-a-service (127.0.0.1:$CHAINCODE_PORT, mutual TLS)"
if [ ! -f "$pkg" ]; then
  work=$(mktemp -d)
  node -e '
    const fs = require("fs");
    const [dir, addr] = process.argv.slice(1);
    const pem = (f) => fs.readFileSync(`${dir}/${f}`, "utf8");
    process.stdout.write(JSON.stringify({
      address: addr, dial_timeout: "10s", tls_required: true, client_auth_required: true,
      root_cert: pem("ca.crt"), client_cert: pem("client.crt"), client_key: pem("client.key"),
    }, null, 2));' "$cc_tls" "127.0.0.1:$CHAINCODE_PORT" >"$work/connection.json"
  printf '{"type":"ccaas","label":"%s"}\n' "$label" >"$work/metadata.json"
  tar -C "$work" -czf "$work/code.tar.gz" connection.json
  tar -C "$work" -czf "$pkg" metadata.json code.tar.gz
  rm -rf "$work"
fi
package_id=$(peer_admin_env enterprise; peer lifecycle chaincode calculatepackageid "$pkg")

orderer_args=(-o "127.0.0.1:$ORDERER_PORT" --ordererTLSHostnameOverride orderer0.orderer.ledger.local --tls --cafile "$orderer_tls_ca")

log "[3/6] installing $package_id on both peers"
for org in enterprise regulator; do
  (
    peer_admin_env "$org"
    if peer lifecycle chaincode queryinstalled 2>/dev/null | grep -q "Package ID: $package_id,"; then
      log "    $org: already installed"
    else
      peer lifecycle chaincode install "$pkg" >>"$log_dir/cli.log" 2>&1 || { tail -n 5 "$log_dir/cli.log" >&2; die "install on the $org peer failed"; }
      log "    $org: installed"
    fi
  )
done

log "[4/6] starting the chaincode server for $package_id"
pidf="$pid_dir/chaincode.pid"
running_id=$(cat "$cc_dir/running-package-id" 2>/dev/null || true)
if [ "${LEDGER_CHAINCODE_SERVER:-local}" = external ]; then
  # Someone else (the chaincode container of docker-compose.yml) runs the server: it waits for
  # this file and restarts when the id in it changes.
  echo "$package_id" >"$cc_dir/running-package-id"
  wait_tcp "$CHAINCODE_PORT" 120 || die "no chaincode server on 127.0.0.1:$CHAINCODE_PORT (LEDGER_CHAINCODE_SERVER=external)"
  log "    external chaincode server on 127.0.0.1:$CHAINCODE_PORT"
elif pid_alive "$pidf" && [ "$running_id" = "$package_id" ]; then
  log "    already running (pid $(cat "$pidf"))"
else
  stop_pid "$pidf" "fabric-shim/cli.js server"
  if (exec 3<>"/dev/tcp/127.0.0.1/$CHAINCODE_PORT") 2>/dev/null; then
    die "port $CHAINCODE_PORT is taken by a process this script did not start; stop it or set CHAINCODE_PORT (then run 'network.sh down --wipe' and 'up', since the port is part of the package)"
  fi
  (
    cd "$repo_root/chaincode"
    nohup node "$repo_root/node_modules/fabric-shim/cli.js" server \
      --chaincode-address "127.0.0.1:$CHAINCODE_PORT" --chaincode-id "$package_id" \
      --chaincode-tls-cert-file "$cc_tls/server.crt" --chaincode-tls-key-file "$cc_tls/server.key" \
      --chaincode-tls-client-cacert-file "$cc_tls/ca.crt" --module-path "$repo_root/chaincode" \
      >>"$log_dir/chaincode.log" 2>&1 &
    echo $! >"$pidf"
  )
  echo "$package_id" >"$cc_dir/running-package-id"
  wait_tcp "$CHAINCODE_PORT" 30 || { tail -n 20 "$log_dir/chaincode.log" >&2; die "the chaincode server did not listen on $CHAINCODE_PORT"; }
  log "    listening on 127.0.0.1:$CHAINCODE_PORT (pid $(cat "$pidf"), log $log_dir/chaincode.log)"
fi

# What is committed now, and is it this package with this policy?
committed=$(peer_admin_env enterprise; peer lifecycle chaincode querycommitted -C "$LEDGER_CHANNEL" -n "$LEDGER_CHAINCODE" -O json 2>/dev/null || true)
sequence=$(echo "${committed:-{\}}" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).sequence||0)}catch{console.log(0)}})')
approved_id=$(peer_admin_env enterprise; peer lifecycle chaincode queryapproved -C "$LEDGER_CHANNEL" -n "$LEDGER_CHAINCODE" -O json 2>/dev/null \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const j=JSON.parse(s);console.log(j.source?.Type?.LocalPackage?.package_id||"")}catch{console.log("")}})' || true)

if [ "$sequence" != "0" ] && [ "$approved_id" = "$package_id" ]; then
  log "[5/6] $LEDGER_CHAINCODE sequence $sequence already runs $package_id: nothing to approve"
  log "[6/6] deployed"
  exit 0
fi
next=$((sequence + 1))
log "[5/6] approving $LEDGER_CHAINCODE sequence $next for both orgs (endorsement policy $LEDGER_ENDORSEMENT_POLICY)"
for org in enterprise regulator; do
  (
    peer_admin_env "$org"
    peer lifecycle chaincode approveformyorg "${orderer_args[@]}" --channelID "$LEDGER_CHANNEL" --name "$LEDGER_CHAINCODE" \
      --version "$code_hash" --package-id "$package_id" --sequence "$next" \
      --signature-policy "$LEDGER_ENDORSEMENT_POLICY" --waitForEvent >>"$log_dir/cli.log" 2>&1 \
      || { tail -n 5 "$log_dir/cli.log" >&2; die "approval by $org failed"; }
  )
done
log "[6/6] committing sequence $next"
(
  peer_admin_env enterprise
  peer lifecycle chaincode commit "${orderer_args[@]}" --channelID "$LEDGER_CHANNEL" --name "$LEDGER_CHAINCODE" \
    --version "$code_hash" --sequence "$next" --signature-policy "$LEDGER_ENDORSEMENT_POLICY" \
    --peerAddresses "127.0.0.1:$ENTERPRISE_PEER_PORT" --tlsRootCertFiles "$(peer_node_dir enterprise)/tls/ca.crt" \
    --peerAddresses "127.0.0.1:$REGULATOR_PEER_PORT" --tlsRootCertFiles "$(peer_node_dir regulator)/tls/ca.crt" \
    --waitForEvent >>"$log_dir/cli.log" 2>&1 || { tail -n 5 "$log_dir/cli.log" >&2; die "commit failed"; }
)
log "deployed $LEDGER_CHAINCODE sequence $next ($package_id) on channel $LEDGER_CHANNEL"
