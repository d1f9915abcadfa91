#!/usr/bin/env bash
# Registers a user with an org's Fabric CA, with the role attribute the chaincode checks
# (`ledger.role`, put into the enrollment certificate), and enrols it. Prints the user's
# directory, which holds msp/signcerts/cert.pem and msp/keystore/*_sk. Idempotent.
#
#   enroll-user.sh <enterprise|regulator> <user name> <role>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

[ $# -eq 3 ] || { echo "usage: $0 <enterprise|regulator> <user name> <role>" >&2; exit 2; }
org=$1 name=$2 role=$3
[[ "$name" =~ ^[A-Za-z0-9._-]{1,64}$ ]] || die "user name must be 1-64 characters of A-Z a-z 0-9 . _ -"
[[ "$role" =~ ^[a-z_]{1,40}$ ]] || die "role must be lower-case letters and underscores"
upper=$(echo "$org" | tr a-z A-Z); port_var="${upper}_CA_PORT"
url="https://127.0.0.1:${!port_var}"
ca_cert="$(org_dir "$org")/ca/ca.$org.ledger.local-cert.pem"
ca_home="$LEDGER_RUN_DIR/ca/$org"
users="$LEDGER_RUN_DIR/users/$org"
user_dir="$users/$name"
[ -f "$ca_home/bootstrap-password" ] || die "the $org CA has not been started: run 'bash scripts/network.sh up'"
common=(--caname "ca-$org" --tls.certfiles "$ca_cert")

if [ -f "$user_dir/msp/signcerts/cert.pem" ] && [ "$(cat "$user_dir/role" 2>/dev/null)" = "$role" ]; then
  echo "$user_dir"; exit 0
fi
[ -f "$user_dir/role" ] && [ "$(cat "$user_dir/role")" != "$role" ] && die "$name is already registered at the $org CA with role $(cat "$user_dir/role"); use another name"

mkdir -p "$users"
if [ ! -f "$users/.registrar/msp/signcerts/cert.pem" ]; then
  fabric-ca-client enroll -u "https://admin:$(cat "$ca_home/bootstrap-password")@127.0.0.1:${!port_var}" "${common[@]}" \
    -H "$users/.registrar" >>"$log_dir/ca-client.log" 2>&1 || die "could not enrol the $org CA's registrar (log: $log_dir/ca-client.log)"
fi
mkdir -p "$user_dir"; chmod 700 "$user_dir"
if [ ! -f "$user_dir/secret" ]; then
  (umask 077; openssl rand -hex 16 >"$user_dir/secret")
  fabric-ca-client register -u "$url" "${common[@]}" -H "$users/.registrar" --id.name "$name" --id.secret "$(cat "$user_dir/secret")" \
    --id.type client --id.affiliation "" --id.attrs "ledger.role=$role:ecert" >>"$log_dir/ca-client.log" 2>&1 \
    || { rm -f "$user_dir/secret"; die "could not register $name at the $org CA (log: $log_dir/ca-client.log)"; }
fi
fabric-ca-client enroll -u "https://$name:$(cat "$user_dir/secret")@127.0.0.1:${!port_var}" "${common[@]}" -H "$user_dir" \
  >>"$log_dir/ca-client.log" 2>&1 || die "could not enrol $name at the $org CA (log: $log_dir/ca-client.log)"
echo "$role" >"$user_dir/role"
echo "$user_dir"
