#!/usr/bin/env bash
# Puts an org's certificate revocation list into the org's MSP in the channel configuration, so
# every peer refuses the revoked certificates: a proposal or transaction created by one is denied.
# The peers check creators against the channel's MSP (not their local MSP's crls/ folder), so this
# is the only place a CRL takes effect. A channel config update that changes one org's MSP needs
# that org's Admins policy: it is signed with the org's admin identity (cryptogen's Admin@<org>),
# which only the org's operator holds; no gateway holds it.
#
#   publish-crl.sh <enterprise|regulator> [crl.pem]
#
# Without a file, the org CA's current CRL is generated (fabric-ca-client gencrl, as the CA's
# registrar). With one (what POST /v1/identities/{sub}/revoke answers), that CRL is used. The
# channel's revocation list of the org is replaced by it (a CA's CRL lists every revocation).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

usage="usage: $0 <enterprise|regulator> [crl.pem]"
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "$usage" >&2; exit 2; }
org=$1
case "$org" in enterprise|regulator) ;; *) echo "$usage" >&2; exit 2 ;; esac
msp_id=$(org_msp "$org")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

if [ $# -eq 2 ]; then
  grep -q 'BEGIN X509 CRL' "$2" || die "$2 is not a PEM CRL"
  cp "$2" "$work/crl.pem"
else
  upper=$(echo "$org" | tr a-z A-Z); port_var="${upper}_CA_PORT"
  ca_cert="$(org_dir "$org")/ca/ca.$org.ledger.local-cert.pem"
  registrar="$LEDGER_RUN_DIR/users/$org/.registrar"
  if [ ! -f "$registrar/msp/signcerts/cert.pem" ]; then
    fabric-ca-client enroll -u "https://admin:$(cat "$LEDGER_RUN_DIR/ca/$org/bootstrap-password")@127.0.0.1:${!port_var}" --caname "ca-$org" --tls.certfiles "$ca_cert" \
      -H "$registrar" >>"$log_dir/ca-client.log" 2>&1 || die "could not enrol the $org CA's registrar (log: $log_dir/ca-client.log)"
  fi
  fabric-ca-client gencrl -u "https://127.0.0.1:${!port_var}" --caname "ca-$org" --tls.certfiles "$ca_cert" -H "$registrar" >>"$log_dir/ca-client.log" 2>&1 \
    || die "could not generate the $org CA's CRL (log: $log_dir/ca-client.log)"
  cp "$registrar/msp/crls/crl.pem" "$work/crl.pem"
fi

peer_admin_env "$org"
use_live_orderer  # sets orderer_args
peer channel fetch config "$work/config.pb" -c "$LEDGER_CHANNEL" "${orderer_args[@]}" >>"$log_dir/channel-update.log" 2>&1 \
  || die "could not fetch the channel configuration (log: $log_dir/channel-update.log)"
configtxlator proto_decode --input "$work/config.pb" --type common.Block | jq '.data.data[0].payload.data.config' >"$work/config.json"
jq --arg msp "$msp_id" --arg crl "$(base64 -w0 "$work/crl.pem")" \
  '.channel_group.groups.Application.groups[$msp].values.MSP.value.config.revocation_list = [$crl]' "$work/config.json" >"$work/updated.json"
if cmp -s <(jq -S . "$work/config.json") <(jq -S . "$work/updated.json"); then
  log "the channel already holds this CRL of $msp_id"; exit 0
fi
configtxlator proto_encode --input "$work/config.json" --type common.Config --output "$work/original.pb"
configtxlator proto_encode --input "$work/updated.json" --type common.Config --output "$work/updated.pb"
configtxlator compute_update --channel_id "$LEDGER_CHANNEL" --original "$work/original.pb" --updated "$work/updated.pb" --output "$work/update.pb"
configtxlator proto_decode --input "$work/update.pb" --type common.ConfigUpdate >"$work/update.json"
jq -n --arg ch "$LEDGER_CHANNEL" --slurpfile u "$work/update.json" '{payload: {header: {channel_header: {channel_id: $ch, type: 2}}, data: {config_update: $u[0]}}}' >"$work/envelope.json"
configtxlator proto_encode --input "$work/envelope.json" --type common.Envelope --output "$work/envelope.pb"
# `peer channel update` signs the envelope with CORE_PEER_MSPCONFIGPATH: the org's admin.
peer channel update -f "$work/envelope.pb" -c "$LEDGER_CHANNEL" "${orderer_args[@]}" >>"$log_dir/channel-update.log" 2>&1 \
  || die "the channel config update was refused (log: $log_dir/channel-update.log)"
log "published the $org CA's CRL ($(openssl crl -in "$work/crl.pem" -noout -text | grep -c 'Serial Number') revoked certificates) in $msp_id's channel MSP"

# Done when the org's own peer has committed the config block: from then on it refuses the
# certificates, and as every proposal of the org's users goes through it (their gateway's peer),
# nothing they sign is endorsed. (The other org's peers apply the same block as they reach it;
# asking them needs that org's admin, which this operator does not hold.)
peer channel fetch config "$work/latest.pb" -c "$LEDGER_CHANNEL" "${orderer_args[@]}" >>"$log_dir/channel-update.log" 2>&1
config_block=$(configtxlator proto_decode --input "$work/latest.pb" --type common.Block | jq -r '.header.number')
for i in $(seq 1 150); do
  height=$(peer channel getinfo -c "$LEDGER_CHANNEL" 2>/dev/null | sed -n 's/^Blockchain info: //p' | jq -r '.height')
  [ "${height:-0}" -gt "$config_block" ] && break
  [ "$i" -lt 150 ] || die "the $org peer has not committed config block $config_block after 30 s"
  sleep 0.2
done
log "config block $config_block is on the $org peer"
