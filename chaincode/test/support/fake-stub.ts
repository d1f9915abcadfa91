import { createHash } from 'node:crypto';
import type { StateWrite } from '../../src/state-batch';

/**
 * In-memory stand-in for a peer's ledger and the chaincode stub, with Fabric's semantics where
 * they matter for the rules: reads see committed state only (no read-your-writes), writes are
 * buffered and committed only when the transaction succeeds, composite keys use the same
 * encoding as fabric-shim, private data is kept apart with only its hash on the "chain", and
 * each committed transaction becomes a block that tests can scan.
 */

const NS = '\u0000';
const MAX_UNICODE = '\u{10FFFF}';

export interface TxTimestamp {
  seconds: { toNumber(): number; toString(): string } & number;
  nanos: number;
}

export interface Block {
  txId: string;
  fcn: string;
  args: string[];
  writes: { key: string; value: string | null }[];
  privateWrites: { collection: string; key: string; valueHash: string | null }[];
  events: { name: string; payload: string }[];
  response: string;
}

export class FakeLedger {
  readonly state = new Map<string, Buffer>();
  readonly privateState = new Map<string, Map<string, Buffer>>();
  readonly blocks: Block[] = [];
  readonly history = new Map<string, { txId: string; timeMs: number; value: Buffer; isDelete: boolean }[]>();
  /** Key-level endorsement policies (state-based endorsement), as the keys' metadata holds them. */
  readonly validationParameters = new Map<string, Buffer>();

  snapshot(): string {
    const entries = [...this.state.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.toString('utf8')]);
    const priv = [...this.privateState.entries()].map(([c, m]) => [c, [...m.entries()].map(([k, v]) => [k, v.toString('utf8')])]);
    return JSON.stringify({ entries, priv });
  }

  getPrivate(collection: string, key: string): Buffer | undefined {
    return this.privateState.get(collection)?.get(key);
  }
}

export interface FakeIdentityOptions {
  mspId: string;
  id: string;
  attrs: Record<string, string>;
}

export class FakeClientIdentity {
  constructor(private readonly o: FakeIdentityOptions) {}
  getMSPID(): string {
    return this.o.mspId;
  }
  getID(): string {
    return this.o.id;
  }
  getIDBytes(): Uint8Array {
    return Buffer.from(this.o.id);
  }
  getAttributeValue(name: string): string | null {
    return this.o.attrs[name] ?? null;
  }
  assertAttributeValue(name: string, value: string): boolean {
    return this.o.attrs[name] === value;
  }
}

interface Kv {
  namespace: string;
  key: string;
  value: Uint8Array;
}

function iterator(items: Kv[]) {
  let i = 0;
  const it = {
    async next() {
      if (i < items.length) return { value: items[i++] as Kv, done: false };
      return { value: undefined as unknown as Kv, done: true };
    },
    async close() {},
  };
  const p = Promise.resolve(it) as Promise<typeof it> & AsyncIterable<Kv>;
  p[Symbol.asyncIterator] = async function* () {
    yield* items;
  };
  return p;
}

/** How Fabric's validator would mark a transaction endorsed against an older state. */
export type ReadConflict = 'MVCC_READ_CONFLICT' | 'PHANTOM_READ_CONFLICT';

export class FakeStub {
  /** The read set as Fabric records it: keys read, and the [from, to) ranges scanned. */
  readonly reads = new Set<string>();
  readonly rangeReads: [string, string][] = [];
  readonly writes = new Map<string, Buffer | null>();
  readonly privateWrites = new Map<string, Map<string, Buffer | null>>();
  private privateWritesOf(collection: string): Map<string, Buffer | null> {
    const writes = this.privateWrites.get(collection) ?? new Map<string, Buffer | null>();
    this.privateWrites.set(collection, writes);
    return writes;
  }
  readonly events: { name: string; payload: Buffer }[] = [];
  readonly validationParameterWrites = new Map<string, Buffer>();

  constructor(
    private readonly ledger: FakeLedger,
    private readonly txId: string,
    private readonly timeMs: number,
    private readonly transient: Map<string, Uint8Array>,
    readonly fcn: string,
    readonly args: string[],
  ) {}

  getTxID(): string {
    return this.txId;
  }
  getChannelID(): string {
    return 'compliance';
  }
  getTxTimestamp(): TxTimestamp {
    const seconds = Math.floor(this.timeMs / 1000);
    // Long-like: the chaincode calls Number(ts.seconds).
    const long = Object.assign(Object(seconds), { toNumber: () => seconds, toString: () => String(seconds) });
    return { seconds: long, nanos: (this.timeMs - seconds * 1000) * 1e6 };
  }
  getDateTimestamp(): Date {
    return new Date(this.timeMs);
  }
  getTransient(): Map<string, Uint8Array> {
    return this.transient;
  }
  getFunctionAndParameters() {
    return { fcn: this.fcn, params: this.args };
  }
  /** As fabric-shim: the executing peer's MSP id from the chaincode process's environment. */
  getMspID(): string {
    const msp = process.env.CORE_PEER_LOCALMSPID;
    if (msp === undefined) throw new Error('CORE_PEER_LOCALMSPID is unset in chaincode process');
    return msp;
  }

  /** Requests a peer would have served for this transaction, by kind, to check what the chaincode batches. */
  readonly requests = { getState: 0, getStates: 0, rangeQuery: 0, putState: 0, deleteState: 0, setStateValidationParameter: 0, writeBatch: 0 };

  // ------------------------------------------------------------- public state
  async getState(key: string): Promise<Uint8Array> {
    this.requests.getState++;
    this.reads.add(key);
    return this.ledger.state.get(key) ?? Buffer.alloc(0);
  }
  /** As a Fabric 3.1 peer's GET_STATE_MULTIPLE: each key read as getState reads it, in one request. */
  async getStates(keys: string[]): Promise<Uint8Array[]> {
    this.requests.getStates++;
    for (const k of keys) this.reads.add(k);
    return keys.map((k) => this.ledger.state.get(k) ?? Buffer.alloc(0));
  }
  /** As a Fabric 3.1 peer's WRITE_BATCH_STATE: each write applied in order, as if sent alone. */
  async writeBatch(writes: StateWrite[]): Promise<void> {
    this.requests.writeBatch++;
    for (const w of writes) {
      if (w.kind === 'put') this.applyPut(w.key, w.value);
      else if (w.kind === 'delete') this.writes.set(w.key, null);
      else this.validationParameterWrites.set(w.key, Buffer.from(w.policy));
    }
  }
  async putState(key: string, value: Uint8Array): Promise<void> {
    this.requests.putState++;
    this.applyPut(key, value);
  }
  private applyPut(key: string, value: Uint8Array): void {
    if (typeof key !== 'string' || key === '') throw new Error('key must be a non-empty string');
    if (!value || value.length === 0) throw new Error('value must not be empty (use deleteState)');
    this.writes.set(key, Buffer.from(value));
  }
  async deleteState(key: string): Promise<void> {
    this.requests.deleteState++;
    this.writes.set(key, null);
  }
  async setStateValidationParameter(key: string, ep: Uint8Array): Promise<void> {
    this.requests.setStateValidationParameter++;
    this.validationParameterWrites.set(key, Buffer.from(ep));
  }
  async getStateValidationParameter(key: string): Promise<Uint8Array> {
    return this.ledger.validationParameters.get(key) ?? Buffer.alloc(0);
  }
  createCompositeKey(objectType: string, attributes: string[]): string {
    for (const a of [objectType, ...attributes]) {
      if (a.includes(NS) || a.includes(MAX_UNICODE)) throw new Error('composite key parts must not contain U+0000 or U+10FFFF');
    }
    return NS + objectType + NS + attributes.map((a) => a + NS).join('');
  }
  splitCompositeKey(key: string): { objectType: string; attributes: string[] } {
    const parts = key.split(NS).slice(1, -1);
    return { objectType: parts[0] ?? '', attributes: parts.slice(1) };
  }
  private scan(source: Map<string, Buffer>, from: string, to: string): Kv[] {
    return [...source.keys()]
      .filter((k) => k >= from && k < to)
      .sort()
      .map((k) => ({ namespace: 'compliance', key: k, value: source.get(k) as Buffer }));
  }
  getStateByPartialCompositeKey(objectType: string, attributes: string[]) {
    const prefix = this.createCompositeKey(objectType, attributes);
    this.requests.rangeQuery++;
    this.rangeReads.push([prefix, prefix + MAX_UNICODE]);
    return iterator(this.scan(this.ledger.state, prefix, prefix + MAX_UNICODE));
  }
  getStateByRange(startKey: string, endKey: string) {
    const to = endKey === '' ? MAX_UNICODE : endKey;
    this.requests.rangeQuery++;
    this.rangeReads.push([startKey, to]);
    // Fabric keeps simple-key range queries away from composite keys.
    const items = this.scan(this.ledger.state, startKey, to).filter((kv) => !kv.key.startsWith(NS));
    return iterator(items);
  }

  /**
   * What Fabric's validator would say of this transaction if `committed` (the keys written by
   * transactions committed since it was endorsed) came first: a key it read was written (MVCC),
   * or a range it scanned gained, changed or lost a key (phantom). Null: valid.
   */
  conflictWith(committed: ReadonlySet<string>): ReadConflict | null {
    for (const k of this.reads) if (committed.has(k)) return 'MVCC_READ_CONFLICT';
    for (const k of committed) if (this.rangeReads.some(([from, to]) => k >= from && k < to)) return 'PHANTOM_READ_CONFLICT';
    return null;
  }
  /** Newest first, as Fabric 2.x/3.x peers return it. */
  getHistoryForKey(key: string) {
    const entries = [...(this.ledger.history.get(key) ?? [])].reverse();
    let i = 0;
    const it = {
      next: async () => {
        const e = entries[i++];
        if (e === undefined) return { value: undefined as never, done: true };
        const seconds = Math.floor(e.timeMs / 1000);
        return { value: { txId: e.txId, value: e.value, isDelete: e.isDelete, timestamp: { seconds, nanos: (e.timeMs - seconds * 1000) * 1e6 } }, done: false };
      },
      close: async () => {},
    };
    return Promise.resolve(it);
  }
  setEvent(name: string, payload: Uint8Array): void {
    this.events.push({ name, payload: Buffer.from(payload) });
  }

  // ------------------------------------------------------------- private data
  async getPrivateData(collection: string, key: string): Promise<Uint8Array> {
    return this.ledger.getPrivate(collection, key) ?? Buffer.alloc(0);
  }
  async getPrivateDataHash(collection: string, key: string): Promise<Uint8Array> {
    const v = this.ledger.getPrivate(collection, key);
    return v === undefined ? Buffer.alloc(0) : createHash('sha256').update(v).digest();
  }
  async putPrivateData(collection: string, key: string, value: Uint8Array): Promise<void> {
    if (!collection.startsWith('_implicit_org_')) throw new Error(`collection ${collection} is not defined`);
    if (!value || value.length === 0) throw new Error('value must not be empty');
    this.privateWritesOf(collection).set(key, Buffer.from(value));
  }
  async deletePrivateData(collection: string, key: string): Promise<void> {
    this.privateWritesOf(collection).set(key, null);
  }
  async purgePrivateData(collection: string, key: string): Promise<void> {
    await this.deletePrivateData(collection, key);
  }
  getPrivateDataByPartialCompositeKey(collection: string, objectType: string, attributes: string[]) {
    const prefix = this.createCompositeKey(objectType, attributes);
    return iterator(this.scan(this.ledger.privateState.get(collection) ?? new Map(), prefix, prefix + MAX_UNICODE));
  }

  /** Applies the buffered writes and appends the block, as a commit of a valid transaction does. */
  commit(response: string): Block {
    const block: Block = {
      txId: this.txId,
      fcn: this.fcn,
      args: this.args,
      writes: [],
      privateWrites: [],
      events: this.events.map((e) => ({ name: e.name, payload: e.payload.toString('utf8') })),
      response,
    };
    for (const [k, v] of [...this.writes.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (v === null) this.ledger.state.delete(k);
      else this.ledger.state.set(k, v);
      const h = this.ledger.history.get(k) ?? [];
      h.push({ txId: this.txId, timeMs: this.timeMs, value: v ?? Buffer.alloc(0), isDelete: v === null });
      this.ledger.history.set(k, h);
      block.writes.push({ key: k, value: v === null ? null : v.toString('utf8') });
    }
    for (const [k, ep] of this.validationParameterWrites) this.ledger.validationParameters.set(k, ep);
    for (const [collection, m] of this.privateWrites) {
      const target = this.ledger.privateState.get(collection) ?? new Map();
      this.ledger.privateState.set(collection, target);
      for (const [k, v] of m) {
        if (v === null) target.delete(k);
        else target.set(k, v);
        // The chain only ever carries the hash of a private write.
        block.privateWrites.push({ collection, key: k, valueHash: v === null ? null : createHash('sha256').update(v).digest('hex') });
      }
    }
    this.ledger.blocks.push(block);
    return block;
  }
}
