#!/usr/bin/env bash
# Registers a user with an org's Fabric CA, with the attributes the chaincode checks (put into
# the enrollment certificate): `ledger.role` always, and optionally `ledger.department` (the
# signer's department or work unit) and `ledger.workerId` (the person's pseudonymous worker id,
# needed by every sign-off). Enrols it and prints the user's directory, which holds
# msp/signcerts/cert.pem and msp/keystore/*_sk. Idempotent; the attributes of a name are fixed at
# its registration, so asking for the same name with other attributes is an error.
#
#   enroll-user.sh <enterprise|regulator|an org added with org-add.sh> <user name> <role> [--department <dept>] [--worker-id <id>]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

usage="usage: $0 <enterprise|regulator|added org> <user name> <role> [--department <dept>] [--worker-id <id>]"
[ $# -ge 3 ] || { echo "$usage" >&2; exit 2; }
org=$1 name=$2 role=$3; shift 3
department="" worker_id=""
while [ $# -gt 0 ]; do
  case "$1" in
    --department) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; department=$2; shift 2 ;;
    --worker-id) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; worker_id=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
[[ "$name" =~ ^[A-Za-z0-9._-]{1,64}$ ]] || die "user name must be 1-64 characters of A-Z a-z 0-9 . _ -"
[[ "$role" =~ ^[a-z_]{1,40}$ ]] || die "role must be lower-case letters and underscores"
[ -z "$department" ] || [[ "$department" =~ ^[A-Za-z0-9._-]{1,64}$ ]] || die "department must be 1-64 characters of A-Z a-z 0-9 . _ -"
[ -z "$worker_id" ] || [[ "$worker_id" =~ ^[0-9a-f]{64}$ ]] || die "worker id must be 64 lower-case hex characters (HMAC-SHA256)"
# Fabric CA's --id.attrs list: name=value:ecert, comma separated (values above hold no , : or =).
attrs="ledger.role=$role:ecert"
[ -z "$department" ] || attrs+=",ledger.department=$department:ecert"
[ -z "$worker_id" ] || attrs+=",ledger.workerId=$worker_id:ecert"
upper=$(echo "$org" | tr a-z A-Z); port_var="${upper}_CA_PORT"
url="https://127.0.0.1:${!port_var}"
ca_cert="$(org_dir "$org")/ca/ca.$org.ledger.local-cert.pem"
ca_home="$LEDGER_RUN_DIR/ca/$org"
users="$LEDGER_RUN_DIR/users/$org"
user_dir="$users/$name"
[ -f "$ca_home/bootstrap-password" ] || die "the $org CA has not been started: run 'bash scripts/network.sh up'"
common=(--caname "ca-$org" --tls.certfiles "$ca_cert")

# Users enrolled before attributes other than the role existed have only the role file.
registered_attrs() { cat "$user_dir/attrs" 2>/dev/null || echo "ledger.role=$(cat "$user_dir/role"):ecert"; }
if [ -f "$user_dir/msp/signcerts/cert.pem" ] && [ -f "$user_dir/role" ] && [ "$(registered_attrs)" = "$attrs" ]; then
  echo "$user_dir"; exit 0
fi
[ -f "$user_dir/role" ] && [ "$(registered_attrs)" != "$attrs" ] && die "$name is already registered at the $org CA with attributes $(registered_attrs); use another name"

mkdir -p "$users"
if [ ! -f "$users/.registrar/msp/signcerts/cert.pem" ]; then
  fabric-ca-client enroll -u "https://admin:$(cat "$ca_home/bootstrap-password")@127.0.0.1:${!port_var}" "${common[@]}" \
    -H "$users/.registrar" >>"$log_dir/ca-client.log" 2>&1 || die "could not enrol the $org CA's registrar (log: $log_dir/ca-client.log)"
fi
mkdir -p "$user_dir"; chmod 700 "$user_dir"
if [ ! -f "$user_dir/secret" ]; then
  (umask 077; openssl rand -hex 16 >"$user_dir/secret")
  fabric-ca-client register -u "$url" "${common[@]}" -H "$users/.registrar" --id.name "$name" --id.secret "$(cat "$user_dir/secret")" \
    --id.type client --id.affiliation "" --id.attrs "$attrs" >>"$log_dir/ca-client.log" 2>&1 \
    || { rm -f "$user_dir/secret"; die "could not register $name at the $org CA (log: $log_dir/ca-client.log)"; }
fi
fabric-ca-client enroll -u "https://$name:$(cat "$user_dir/secret")@127.0.0.1:${!port_var}" "${common[@]}" -H "$user_dir" \
  >>"$log_dir/ca-client.log" 2>&1 || die "could not enrol $name at the $org CA (log: $log_dir/ca-client.log)"
echo "$role" >"$user_dir/role"
echo "$attrs" >"$user_dir/attrs"
echo "$user_dir"
