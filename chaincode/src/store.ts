import type { Context } from 'fabric-contract-api';
import { NotFoundError } from './errors';
import { toBytes } from './json';
import { batchedStateOf, type StateWrite } from './state-batch';

/** Object types of composite keys. Changing one orphans existing data, so they are fixed here. */
export const KEYS = {
  heartbeat: 'heartbeat',
  permit: 'permit',
  // Live permits, for alarm suspensions and ListLive; written since the SIMOPS index exists.
  livePermit: 'live_permit~site~zone~permit',
  // The live index of chaincode before the SIMOPS index: its permits have no SIMOPS entries, so
  // Issue still reads them whole. Nothing adds to it any more; entries go when their permit stops
  // being live.
  legacyLivePermit: 'live~site~zone~permit',
  // Each live permit's immutable SIMOPS facts, once per selector and scope (see simops.ts).
  simopsPermit: 'simops~site~selector~kind~scope~permit',
  template: 'template',
  templateLatest: 'template_latest',
  policy: 'policy',
  policyLatest: 'policy_latest',
  worker: 'worker',
  certificate: 'certificate',
  certificateByWorker: 'cert~worker~cert',
  gateCheck: 'gatecheck~permit~worker~id',
  evidence: 'evidence~permit~step~cid',
  device: 'device',
  alarm: 'alarm',
  openAlarm: 'open_alarm~site~area~alarm',
  flag: 'flag~permit~id',
  personalDataAccess: 'pd_access',
  workerPersonal: 'worker_personal',
  certificatePersonal: 'certificate_personal',
} as const;

export function key(ctx: Context, type: string, attrs: string[]): string {
  return ctx.stub.createCompositeKey(type, attrs);
}

/**
 * The state reads of each transaction, by key. Fabric answers getState with the committed value,
 * never with the transaction's own writes, so a second read of a key in the same transaction
 * returns the same bytes: asking the peer again only costs a gRPC round trip on both sides (permit
 * Apply read every worker twice, once for its status and once for its certificates). The read set
 * is unchanged: the first read is the one the peer records. Keyed by the stub, which is new for
 * every transaction, so nothing outlives it.
 */
const readsOfTransaction = new WeakMap<object, Map<string, Promise<Uint8Array>>>();

function readsOf(ctx: Context): Map<string, Promise<Uint8Array>> {
  let reads = readsOfTransaction.get(ctx.stub);
  if (reads === undefined) {
    reads = new Map();
    readsOfTransaction.set(ctx.stub, reads);
  }
  return reads;
}

function readState(ctx: Context, k: string): Promise<Uint8Array> {
  const reads = readsOf(ctx);
  let read = reads.get(k);
  if (read === undefined) {
    read = ctx.stub.getState(k);
    reads.set(k, read);
  }
  return read;
}

/**
 * Reads keys the transaction is about to read, all in one request to the peer (state-batch.ts);
 * the reads that follow take their values from here. Only for keys the transaction reads on the
 * way to success: a prefetched key is in the read set like any other read.
 */
export async function prefetch(ctx: Context, keys: Iterable<string>): Promise<void> {
  const reads = readsOf(ctx);
  const wanted = [...new Set(keys)].filter((k) => !reads.has(k));
  if (wanted.length === 0) return;
  if (wanted.length === 1) {
    await readState(ctx, wanted[0]!);
    return;
  }
  const all = batchedStateOf(ctx.stub).getStates(wanted);
  for (const [i, k] of wanted.entries()) {
    const value = all.then((values) => values[i]!);
    // Its failure is the transaction's (thrown below), not an unhandled one if nothing reads the key.
    value.catch(() => undefined);
    reads.set(k, value);
  }
  await all;
}

export async function getJson<T>(ctx: Context, k: string): Promise<T | undefined> {
  const bytes = await readState(ctx, k);
  if (!bytes || bytes.length === 0) return undefined;
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
}

export async function mustGetJson<T>(ctx: Context, k: string, what: string): Promise<T> {
  const v = await getJson<T>(ctx, k);
  if (v === undefined) throw new NotFoundError(`${what} does not exist; check the id or create it first`);
  return v;
}

export async function exists(ctx: Context, k: string): Promise<boolean> {
  const bytes = await readState(ctx, k);
  return !!bytes && bytes.length > 0;
}

/**
 * The public-state writes of each transaction, sent together when it ends (flushWrites, from the
 * contracts' afterTransaction) instead of one request each. Nothing reads them back before then:
 * Fabric's reads never see the transaction's own writes. A transaction that fails sends none.
 */
const writesOfTransaction = new WeakMap<object, StateWrite[]>();

function write(ctx: Context, w: StateWrite): void {
  let writes = writesOfTransaction.get(ctx.stub);
  if (writes === undefined) {
    writes = [];
    writesOfTransaction.set(ctx.stub, writes);
  }
  writes.push(w);
}

export async function putJson(ctx: Context, k: string, value: unknown): Promise<void> {
  write(ctx, { kind: 'put', key: k, value: toBytes(value) });
}

/** Index entries carry no data: their presence is the information. */
export async function putMarker(ctx: Context, k: string): Promise<void> {
  write(ctx, { kind: 'put', key: k, value: toBytes({}) });
}

export async function deleteKey(ctx: Context, k: string): Promise<void> {
  write(ctx, { kind: 'delete', key: k });
}

/** The key's endorsement policy (state-based endorsement), written with the transaction's other writes. */
export async function putKeyPolicy(ctx: Context, k: string, policy: Uint8Array): Promise<void> {
  write(ctx, { kind: 'policy', key: k, policy });
}

/** Sends the transaction's writes to the peer, in their order, in one request; called once, as it ends. */
export async function flushWrites(ctx: Context): Promise<void> {
  const writes = writesOfTransaction.get(ctx.stub);
  if (writes === undefined || writes.length === 0) return;
  writesOfTransaction.delete(ctx.stub);
  await batchedStateOf(ctx.stub).writeBatch(writes);
}

export interface KeyValue<T> {
  key: string;
  attributes: string[];
  value: T;
}

/**
 * Reads every entry under a partial composite key, in key order. An iterator read to its end is not
 * closed: the peer closes it itself when it sends the last results (Fabric's query response
 * generator, has_more false), so the shim's QUERY_STATE_CLOSE was a round trip that closed nothing,
 * three of the seventeen state calls a permit:Apply made on each peer. One left early (an error) is
 * closed here; the peer also closes every iterator of a transaction when the transaction completes.
 */
export async function listByPartialKey<T>(ctx: Context, type: string, attrs: string[], parse = true): Promise<KeyValue<T>[]> {
  const iterator = await ctx.stub.getStateByPartialCompositeKey(type, attrs);
  const out: KeyValue<T>[] = [];
  try {
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
      const { attributes } = ctx.stub.splitCompositeKey(r.value.key);
      const raw = Buffer.from(r.value.value).toString('utf8');
      out.push({ key: r.value.key, attributes, value: (parse ? JSON.parse(raw) : raw) as T });
    }
  } catch (e) {
    await iterator.close().catch(() => undefined);
    throw e;
  }
  return out;
}

/** Zero-padded so that lexical key order is numeric order. */
export function padVersion(v: number): string {
  return String(v).padStart(10, '0');
}
