import type { Context } from 'fabric-contract-api';
import { NotFoundError } from './errors';
import { toBytes } from './json';

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

function readState(ctx: Context, k: string): Promise<Uint8Array> {
  let reads = readsOfTransaction.get(ctx.stub);
  if (reads === undefined) {
    reads = new Map();
    readsOfTransaction.set(ctx.stub, reads);
  }
  let read = reads.get(k);
  if (read === undefined) {
    read = ctx.stub.getState(k);
    reads.set(k, read);
  }
  return read;
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

export async function putJson(ctx: Context, k: string, value: unknown): Promise<void> {
  await ctx.stub.putState(k, toBytes(value));
}

/** Index entries carry no data: their presence is the information. */
export async function putMarker(ctx: Context, k: string): Promise<void> {
  await ctx.stub.putState(k, toBytes({}));
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
