/** A fabric-gateway connection as a user from the gateway's wallet (for what the API does not do: alarms come from ingest). */
import * as path from 'node:path';
import { connectToOrg, loadConnectionProfile } from '@compliance-ledger/fabric-client';
import type { Contract } from '@hyperledger/fabric-gateway';
import { profilePath } from './env.js';

export function connectAsWalletUser(
  walletDir: string,
  org: 'enterprise' | 'regulator',
  sub: string,
  chaincode?: string,
): { contract: Contract; close(): void } {
  const profile = loadConnectionProfile(profilePath());
  const conn = connectToOrg(profile, org, { enrolledDir: path.join(walletDir, org, sub) });
  return { contract: conn.gateway.getNetwork(profile.channel).getContract(chaincode ?? profile.chaincode), close: () => conn.close() };
}
