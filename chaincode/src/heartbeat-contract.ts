import { ENTERPRISE_MSP, type HeartbeatRecord, REGULATOR_MSP, ROLE_ATTRIBUTE } from '@compliance-ledger/schema';
import { Context, Info } from 'fabric-contract-api';
import { assertStorableIdentity } from './access';
import { assertTxTimePlausible, txTimeIso } from './clock';
import { AlreadyExistsError, ForbiddenError, ValidationError } from './errors';
import { canonicalJson } from './json';
import { LedgerContract } from './ledger-contract';
import { exists, KEYS, key, mustGetJson } from './store';
import { assertStorableInput, Evaluate, guarded, putAndEmit, Submit } from './tx';

/**
 * Writes and reads a small record and emits one event: the smallest transaction that exercises
 * endorsement by both orgs, ordering, validation and event delivery. Kept in production as an
 * end-to-end liveness probe that touches no domain data.
 *
 * Unlike the domain contracts it takes positional arguments and needs no `ledger.role`: operators
 * probe a deployment with the org's admin or node identities, which carry no role (that is why
 * `recordedBy.role` may be null). It is still open only to members of the two orgs.
 */
@Info({ title: 'Heartbeat', description: 'End-to-end liveness probe of the ledger write path' })
export class HeartbeatContract extends LedgerContract {
  constructor() {
    super('heartbeat');
  }

  @Submit()
  async Record(ctx: Context, id: string, note: string): Promise<string> {
    return guarded(async () => {
      const mspId = assertMember(ctx);
      // Its timestamp dates its block for the orderer-signature check, as every valid transaction's does.
      assertTxTimePlausible(ctx);
      assertHeartbeatId(id);
      assertStorableInput({ note });
      const recordedBy = { mspId, certificateId: ctx.clientIdentity.getID(), role: ctx.clientIdentity.getAttributeValue(ROLE_ATTRIBUTE) };
      assertStorableIdentity({ [ROLE_ATTRIBUTE]: recordedBy.role, 'subject and issuer': recordedBy.certificateId });
      const k = key(ctx, KEYS.heartbeat, [id]);
      if (await exists(ctx, k)) throw new AlreadyExistsError(`heartbeat ${id} is already recorded; use a new id`);
      const record: HeartbeatRecord = {
        id,
        note,
        recordedBy,
        recordedAt: txTimeIso(ctx),
        txId: ctx.stub.getTxID(),
      };
      return putAndEmit(ctx, k, 'HeartbeatRecorded', record);
    });
  }

  @Evaluate()
  async Read(ctx: Context, id: string): Promise<string> {
    return guarded(async () => {
      assertMember(ctx);
      assertHeartbeatId(id);
      return canonicalJson(await mustGetJson<HeartbeatRecord>(ctx, key(ctx, KEYS.heartbeat, [id]), `heartbeat ${id}`));
    });
  }
}

function assertMember(ctx: Context): string {
  const mspId = ctx.clientIdentity.getMSPID();
  if (mspId !== ENTERPRISE_MSP && mspId !== REGULATOR_MSP) {
    throw new ForbiddenError(`heartbeats are open to members of ${ENTERPRISE_MSP} and ${REGULATOR_MSP}, not ${mspId}`);
  }
  return mspId;
}

function assertHeartbeatId(id: string): void {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new ValidationError('id must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" or "-"');
}
