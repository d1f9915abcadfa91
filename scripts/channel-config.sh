# Channel configuration updates on the running channel, for scripts/org-add.sh and org-remove.sh:
# fetch the current config, compute the update from an edited copy (configtxlator), collect the
# signatures the modified element's mod_policy needs, and submit it. Sourced after lib.sh.

# The peer CLI's arguments for the first orderer that answers (lib.sh use_live_orderer): with three
# Raft or four BFT nodes, one stopped orderer must not stop onboarding.
orderer_cli_args() {
  use_live_orderer
  echo "${orderer_args[@]}"
}

# Writes the channel's current config (JSON, as configtxlator decodes it) to $2, fetched as org $1's admin.
fetch_channel_config() {
  local org=$1 out=$2 work; work=$(mktemp -d)
  (
    peer_admin_env "$org"
    # shellcheck disable=SC2046
    peer channel fetch config "$work/config_block.pb" -c "$LEDGER_CHANNEL" $(orderer_cli_args) >>"$log_dir/cli.log" 2>&1
  ) || { tail -n 5 "$log_dir/cli.log" >&2; rm -rf "$work"; die "could not fetch the config of $LEDGER_CHANNEL as the $org admin"; }
  configtxlator proto_decode --input "$work/config_block.pb" --type common.Block | jq '.data.data[0].payload.data.config' >"$out"
  rm -rf "$work"
}

# Turns the difference between two config JSON files into a signed-for-nobody update envelope $3.
config_update_envelope() {
  local original=$1 updated=$2 out=$3 work; work=$(mktemp -d)
  configtxlator proto_encode --input "$original" --type common.Config --output "$work/original.pb"
  configtxlator proto_encode --input "$updated" --type common.Config --output "$work/updated.pb"
  configtxlator compute_update --channel_id "$LEDGER_CHANNEL" --original "$work/original.pb" --updated "$work/updated.pb" --output "$work/update.pb" \
    || { rm -rf "$work"; die "configtxlator found no difference to submit"; }
  configtxlator proto_decode --input "$work/update.pb" --type common.ConfigUpdate >"$work/update.json"
  jq -n --arg ch "$LEDGER_CHANNEL" --slurpfile u "$work/update.json" \
    '{payload: {header: {channel_header: {channel_id: $ch, type: 2}}, data: {config_update: $u[0]}}}' >"$work/envelope.json"
  configtxlator proto_encode --input "$work/envelope.json" --type common.Envelope --output "$out"
  rm -rf "$work"
}

# Signs envelope $1 by the admin of each org named after it, the last one submitting it. Each org's
# admin signs with its own key, as each company's administrator would on its own machine; here all
# keys are in one run directory because the whole network runs on one host.
sign_and_submit_config() {
  local envelope=$1; shift
  local n=$# i=0 org
  for org in "$@"; do
    i=$((i + 1))
    (
      peer_admin_env "$org"
      if [ "$i" -lt "$n" ]; then
        peer channel signconfigtx -f "$envelope" >>"$log_dir/cli.log" 2>&1
      else
        # shellcheck disable=SC2046
        peer channel update -f "$envelope" -c "$LEDGER_CHANNEL" $(orderer_cli_args) >>"$log_dir/cli.log" 2>&1
      fi
    ) || { tail -n 5 "$log_dir/cli.log" >&2; die "the $org admin could not $([ "$i" -lt "$n" ] && echo sign || echo submit) the config update"; }
    log "    $([ "$i" -lt "$n" ] && echo signed || echo 'signed and submitted') by the $org admin ($(org_msp "$org"))"
  done
}

# Rewrites the Application group's governance policies in config JSON $1 into $2 for the orgs whose
# groups $1 holds: Admins (membership, policies, ACLs), LifecycleEndorsement (a new chaincode
# definition) and Endorsement (the default for a chaincode without a policy of its own) each need
# the regulator AND a majority of the enterprises. Fabric's MAJORITY of all orgs would let enough
# enterprises expel the regulator or replace the chaincode's rules without it once there are three;
# the regulator alone can do neither. A signature policy names its orgs, so every change of the
# membership writes these anew in the same update.
set_governance_policies() {
  jq '
    def principal($msp; $role): {principal: {msp_identifier: $msp, role: $role}, principal_classification: "ROLE"};
    def regulator_and_majority($msps; $role):
      ($msps | map(select(. != "RegulatorMSP")) | sort) as $ents
      | (($ents | length) / 2 | floor + 1) as $majority
      | {type: 1, value: {version: 0,
          identities: ([principal("RegulatorMSP"; $role)] + ($ents | map(principal(.; $role)))),
          rule: {n_out_of: {n: 2, rules: [{signed_by: 0},
            {n_out_of: {n: $majority, rules: [range(1; ($ents | length) + 1) | {signed_by: .}]}}]}}}};
    (.channel_group.groups.Application.groups | keys) as $msps
    | if ($msps | index("RegulatorMSP")) == null then error("the channel has no RegulatorMSP") else . end
    | .channel_group.groups.Application.policies.Admins.policy = regulator_and_majority($msps; "ADMIN")
    | .channel_group.groups.Application.policies.LifecycleEndorsement.policy = regulator_and_majority($msps; "PEER")
    | .channel_group.groups.Application.policies.Endorsement.policy = regulator_and_majority($msps; "PEER")
  ' "$1" >"$2"
}

# The orgs whose admins sign a change of the Application group, as its Admins policy stands before
# the change (set_governance_policies): the regulator's admin, listed last so that it submits, and a
# majority of the enterprises now in the channel. Orgs being offboarded (the arguments) do not sign
# their own removal unless the staying enterprises are too few for that majority (several leaving
# at once): then the leaving ones sign too, as companies that agreed to leave. The count is taken on
# all enterprises, so it also satisfies a channel created before these policies (MAJORITY of the
# orgs, which never needs more).
application_admin_signers() {
  local members; read -r -a members <<<"$(peer_orgs)"
  local enterprises=$(( ${#members[@]} - 1 ))
  local need=$(( enterprises / 2 + 1 )) picked=() o leaving=" $* "
  for o in "${members[@]}"; do
    [ "$o" = regulator ] || [[ "$leaving" == *" $o "* ]] && continue
    [ ${#picked[@]} -ge "$need" ] && break
    picked+=("$o")
  done
  for o in "$@"; do
    [ ${#picked[@]} -ge "$need" ] && break
    picked+=("$o")
  done
  echo "${picked[*]} regulator"
}

# Waits until org $1's peer has caught up with the regulator's peer's height on the channel.
wait_peer_caught_up() {
  local org=$1 target i height
  # A peer that has just joined answers getinfo only once it has the channel: not yet is not an error.
  target=$( (peer_admin_env regulator; peer channel getinfo -c "$LEDGER_CHANNEL" 2>/dev/null) | sed -n 's/.*"height":\([0-9]*\).*/\1/p' || true)
  for i in $(seq 1 300); do
    height=$( (peer_admin_env "$org"; peer channel getinfo -c "$LEDGER_CHANNEL" 2>/dev/null) | sed -n 's/.*"height":\([0-9]*\).*/\1/p' || true)
    [ -n "$height" ] && [ "$height" -ge "$target" ] && return 0
    sleep 0.5
  done
  die "the $org peer reached height ${height:-none} of $target on $LEDGER_CHANNEL within 150s (log: $log_dir/peer-$org.log)"
}
