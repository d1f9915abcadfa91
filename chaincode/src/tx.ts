import {
  type Actor,
  EVENT_SCHEMA_VERSION,
  formatZodIssues,
  type LedgerEventOf,
  type LedgerEventType,
  TX_INPUT_SCHEMAS,
  type TxData,
  type TxName,
  unstorableText,
} from '@compliance-ledger/schema';
import { type Context, Returns, Transaction } from 'fabric-contract-api';
import type { z } from 'zod';
import { authorize } from './access';
import { assertTxTimePlausible, txTimeIso } from './clock';
import { toLedgerError, ValidationError } from './errors';
import { canonicalJson } from './json';
import { putJson } from './store';

/** Where a transaction's JSON input came from, as its error messages name it. */
export interface InputSource {
  /** After "fix": `the input`, `transient "worker"`. */
  name: string;
  /** The whole value, where a problem has no path inside it: `the argument`, `the entry`. */
  whole: string;
  /** The message when the text is not JSON. */
  notJson: string;
}

/** The single JSON argument of a domain transaction. */
export const ARGUMENT: InputSource = { name: 'the input', whole: 'the argument', notJson: 'the argument is not valid JSON' };

/**
 * Refuses input holding text no store of the ledger's records takes (U+0000, a lone surrogate),
 * naming where it is.
 */
export function assertStorableInput(value: unknown, source: InputSource = ARGUMENT): void {
  const unstorable = unstorableText(value);
  if (unstorable) throw new ValidationError(`fix ${source.name}: ${unstorable.path.join('.') || source.whole} ${unstorable.problem}`);
}

/**
 * Parses a transaction's JSON input (its single argument, or a transient entry) with its schema.
 * Runs before any state access, so that bad input can never leave a partial write behind.
 */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, source: InputSource = ARGUMENT): z.output<S> {
  let value: unknown;
  if (typeof raw !== 'string') throw new ValidationError('the argument must be a JSON string');
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ValidationError(source.notJson);
  }
  assertStorableInput(value, source);
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ValidationError(`fix ${source.name}: ${formatZodIssues(result.error, 5)}`);
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

/**
 * A domain transaction from start to end: `enter` (caller, clock, input), then the body with the
 * actor and the parsed input, every failure a coded LedgerError.
 */
export function run<T extends TxName, R>(ctx: Context, tx: T, input: unknown, body: (entered: { actor: Actor; data: TxData<T> }) => Promise<R>): Promise<R> {
  return guarded(async () => body(enter(ctx, tx, input)));
}

/** The usual end of a write: the record under its key, the transaction's event carrying it, and the record as the answer. */
export async function putAndEmit<T extends LedgerEventType>(ctx: Context, k: string, type: T, record: LedgerEventOf<T>['payload']): Promise<string> {
  await putJson(ctx, k, record);
  emit(ctx, type, record);
  return canonicalJson(record);
}

/** A transaction peers endorse and the orderer commits; every transaction answers a string (canonical JSON). */
export function Submit(): (target: object, propertyKey: string) => void {
  return (target, propertyKey) => {
    Returns('string')(target, propertyKey);
    Transaction(true)(target, propertyKey);
  };
}

/** A read: evaluated on a peer, never submitted (tagged EVALUATE in the contract metadata). */
export function Evaluate(): (target: object, propertyKey: string) => void {
  return (target, propertyKey) => {
    Returns('string')(target, propertyKey);
    Transaction(false)(target, propertyKey);
  };
}
