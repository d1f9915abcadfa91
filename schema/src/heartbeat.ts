/**
 * The heartbeat record proves the whole write path (client → both orgs' endorsement → orderer →
 * commit → event) without touching domain data. Operators use it to check a deployment end to end.
 */
export interface HeartbeatRecord {
  id: string;
  note: string;
  recordedBy: { mspId: string; certificateId: string };
  recordedAt: string;
  txId: string;
}
