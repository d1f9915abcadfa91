import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { LedgerContract } from './ledger-contract';
import type { HeartbeatRecord, HeartbeatRecordedEvent } from '@compliance-ledger/schema';
import { EVENT_SCHEMA_VERSION, ROLE_ATTRIBUTE } from '@compliance-ledger/schema';

const KEY_PREFIX = 'heartbeat';

/**
 * Writes and reads a small record and emits one event: the smallest transaction that exercises
 * endorsement by both orgs, ordering, validation and event delivery. Kept in production as an
 * end-to-end liveness probe that touches no domain data.
 */
@Info({ title: 'Heartbeat', description: 'End-to-end liveness probe of the ledger write path' })
export class HeartbeatContract extends LedgerContract {
  constructor() {
    super('heartbeat');
  }

  @Transaction()
  @Returns('string')
  async Record(ctx: Context, id: string, note: string): Promise<string> {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
      throw new Error('VALIDATION_FAILED: id must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" or "-"');
    }
    const key = ctx.stub.createCompositeKey(KEY_PREFIX, [id]);
    const existing = await ctx.stub.getState(key);
    if (existing && existing.length > 0) {
      throw new Error(`ALREADY_EXISTS: heartbeat ${id} is already recorded; use a new id`);
    }
    const ts = ctx.stub.getTxTimestamp();
    const at = new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6)).toISOString();
    const record: HeartbeatRecord = {
      id,
      note,
      recordedBy: {
        mspId: ctx.clientIdentity.getMSPID(),
        certificateId: ctx.clientIdentity.getID(),
        role: ctx.clientIdentity.getAttributeValue(ROLE_ATTRIBUTE),
      },
      recordedAt: at,
      txId: ctx.stub.getTxID(),
    };
    const json = JSON.stringify(record);
    await ctx.stub.putState(key, Buffer.from(json));
    const event: HeartbeatRecordedEvent = {
      schemaVersion: EVENT_SCHEMA_VERSION,
      type: 'HeartbeatRecorded',
      txId: record.txId,
      at,
      payload: record,
    };
    ctx.stub.setEvent(event.type, Buffer.from(JSON.stringify(event)));
    return json;
  }

  @Transaction(false)
  @Returns('string')
  async Read(ctx: Context, id: string): Promise<string> {
    const bytes = await ctx.stub.getState(ctx.stub.createCompositeKey(KEY_PREFIX, [id]));
    if (!bytes || bytes.length === 0) {
      throw new Error(`NOT_FOUND: no heartbeat with id ${id}`);
    }
    return Buffer.from(bytes).toString('utf8');
  }
}
