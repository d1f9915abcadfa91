/**
 * Records one heartbeat through the real network and prints where it landed: the smallest proof
 * that a deployment works end to end. Used by `npm start`; usable by operators at any time.
 */

import { randomUUID } from 'node:crypto';
import { connectToOrg, loadConnectionProfile, submitTransaction } from '@compliance-ledger/fabric-client';
import { connectionProfilePath } from '@compliance-ledger/schema';

if (!process.env.LEDGER_CONNECTION_PROFILE) throw new Error('LEDGER_CONNECTION_PROFILE is not set: run `bash scripts/network.sh up` first');
const profile = loadConnectionProfile(connectionProfilePath(process.env));
const conn = connectToOrg(profile, 'enterprise');
try {
  const contract = conn.gateway.getNetwork(profile.channel).getContract(profile.chaincode, 'heartbeat');
  const id = `start-${randomUUID()}`;
  const committed = await submitTransaction(contract, { name: 'Record', options: { arguments: [id, 'npm start'] } }, { ownMspId: conn.mspId });
  console.error(`heartbeat ${id} committed in block ${committed.blockNumber}, tx ${committed.transactionId}`);
} finally {
  conn.close();
}
