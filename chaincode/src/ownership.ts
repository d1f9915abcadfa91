import { type Actor, REGULATOR_MSP } from '@compliance-ledger/schema';
import type { Context } from 'fabric-contract-api';
import { KeyEndorsementPolicy } from 'fabric-shim';
import { NotFoundError } from './errors';
import { putKeyPolicy } from './store';

/**
 * Many enterprises share one channel. Every record belongs to the enterprise whose member created
 * it; that enterprise and the regulator see it, no other enterprise does. A record another
 * enterprise may not see reads as missing, with the words a missing one gets, so that asking for
 * it tells nothing about it.
 */
export function mayAccess(actor: Pick<Actor, 'mspId'>, ownerMsp: string): boolean {
  return actor.mspId === REGULATOR_MSP || actor.mspId === ownerMsp;
}

export function assertMayAccess(actor: Pick<Actor, 'mspId'>, ownerMsp: string, what: string): void {
  if (!mayAccess(actor, ownerMsp)) throw new NotFoundError(`${what} does not exist; check the id or create it first`);
}

/**
 * Key-level (state-based) endorsement, set when the record is created: from then on every write
 * to it needs the peers of its own enterprise AND of the regulator, whatever the chaincode-level
 * policy lets other transactions through with. Another enterprise's peer cannot satisfy it, so a
 * write endorsed by that enterprise and the regulator is marked ENDORSEMENT_POLICY_FAILURE in the
 * block and changes nothing. The policy stays with the key through later writes (Fabric keeps a
 * key's metadata until it is changed or the key deleted).
 */
export async function bindToOwner(ctx: Context, k: string, ownerMsp: string): Promise<void> {
  const policy = new KeyEndorsementPolicy();
  policy.addOrgs('PEER', ...new Set([ownerMsp, REGULATOR_MSP]));
  await putKeyPolicy(ctx, k, policy.getPolicy());
}
