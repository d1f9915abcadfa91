/**
 * The connection profile `scripts/network.sh up` writes: one file describes where the orderer, the
 * peers, their TLS CAs, the orgs' identities and CAs are, so no process hard-codes a port or a path.
 */
import * as fs from 'node:fs';
import { type ConnectionProfile, connectionProfilePath, connectionProfileSchema } from '@compliance-ledger/schema';

export type { ConnectionProfile, OrganizationName, OrganizationProfile } from '@compliance-ledger/schema';

/** Reads and checks a profile; without a path, the one LEDGER_CONNECTION_PROFILE (or the run directory) names. */
export function loadConnectionProfile(file: string = connectionProfilePath(process.env)): ConnectionProfile {
  if (!fs.existsSync(file)) {
    throw new Error(`no connection profile at ${file}: run 'bash scripts/network.sh up' or set LEDGER_CONNECTION_PROFILE to the profile of the network`);
  }
  return connectionProfileSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
}
