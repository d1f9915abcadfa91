/**
 * Records one heartbeat through the real network and prints where it landed: the smallest proof
 * that a deployment works end to end. Used by `npm start`; usable by operators at any time.
 */

import { createPrivateKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connectionProfileSchema } from '@compliance-ledger/schema';
import * as grpc from '@grpc/grpc-js';
import { connect, hash, signers } from '@hyperledger/fabric-gateway';

const profilePath = process.env.LEDGER_CONNECTION_PROFILE;
if (!profilePath) throw new Error('LEDGER_CONNECTION_PROFILE is not set: run `bash scripts/network.sh up` first');
const profile = connectionProfileSchema.parse(JSON.parse(readFileSync(profilePath, 'utf8')));
const org = profile.organizations.enterprise;
const client = new grpc.Client(org.peer.endpoint, grpc.credentials.createSsl(readFileSync(org.peer.tlsCaFile)), {
  'grpc.ssl_target_name_override': org.peer.hostAlias,
});
const gateway = connect({
  client,
  identity: { mspId: org.mspId, credentials: readFileSync(org.client.certFile) },
  signer: signers.newPrivateKeySigner(createPrivateKey(readFileSync(org.client.keyFile))),
  hash: hash.sha256,
});
try {
  const contract = gateway.getNetwork(profile.channel).getContract(profile.chaincode, 'heartbeat');
  const id = `start-${randomUUID()}`;
  const submitted = await contract.submitAsync('Record', { arguments: [id, 'npm start'] });
  const status = await submitted.getStatus();
  if (!status.successful) throw new Error(`heartbeat ${id} was not valid: validation code ${status.code}`);
  console.error(`heartbeat ${id} committed in block ${status.blockNumber}, tx ${status.transactionId}`);
} finally {
  gateway.close();
  client.close();
}
