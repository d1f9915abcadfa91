import {
  type Actor,
  EVENT_SCHEMA_VERSION,
  formatZodIssues,
  type LedgerEventOf,
  type LedgerEventType,
  TX_INPUT_SCHEMAS,
  type TxData,
  type TxName,
} from '@compliance-ledger/schema';
import type { Context } from 'fabric-contract-api';
import type { z } from 'zod';
import { authorize } from './access';
import { assertTxTimePlausible, txTimeIso } from './clock';
import { toLedgerError, ValidationError } from './errors';
import { canonicalJson } from './json';

/**
 * Parses the single JSON argument of a transaction. Runs before any state access, so that bad
 * input can never leave a partial write behind.
 */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  let value: unknown;
  if (typeof raw !== 'string') throw new ValidationError('the argument must be a JSON string');
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ValidationError('the argument is not valid JSON');
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ValidationError(`fix the input: ${formatZodIssues(result.error, 5)}`);
  }
  return result.data;
}

/**
 * The start of every domain transaction: who is calling (role and MSP checked against
 * TX_ACCESS), a proposal timestamp close to the peer's clock, then the input parsed with the
 * schema registered for the same transaction name.
 */
export function enter<T extends TxName>(ctx: Context, tx: T, input: unknown): { actor: Actor; data: TxData<T> } {
  const actor = authorize(ctx, tx);
  assertTxTimePlausible(ctx);
  const data = parseInput(TX_INPUT_SCHEMAS[tx], input) as TxData<T>;
  return { actor, data };
}

/** Emits the transaction's single event. Fabric keeps only the last setEvent, so call it once. */
export function emit<T extends LedgerEventType>(ctx: Context, type: T, payload: LedgerEventOf<T>['payload']): void {
  const event = { schemaVersion: EVENT_SCHEMA_VERSION, type, txId: ctx.stub.getTxID(), at: txTimeIso(ctx), payload };
  ctx.stub.setEvent(type, Buffer.from(canonicalJson(event), 'utf8'));
}

/** Runs a transaction body and turns any failure into a coded LedgerError. */
export async function guarded<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toLedgerError(err);
  }
}
