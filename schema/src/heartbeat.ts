/**
 * The heartbeat record proves the whole write path (client → both orgs' endorsement → orderer →
 * commit → event) without touching domain data. Operators use it to check a deployment end to end.
 */
export interface HeartbeatRecord {
  id: string;
  note: string;
  /** role is the `ledger.role` attribute of a Fabric CA user, or null for node/admin identities */
  recordedBy: { mspId: string; certificateId: string; role: string | null };
  recordedAt: string;
  txId: string;
}
