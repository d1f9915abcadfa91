import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { computeCid, EmbeddedContentStore, KUBO_CHUNK_BYTES } from '../../src/index.js';

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

describe('embedded content store', () => {
  let dir: string;
  let store: EmbeddedContentStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'content-store-'));
    store = new EmbeddedContentStore(dir);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores bytes under the CID computeCid gives them, with their sha256, and serves them back', async () => {
    // More than one chunk, so the CID is a DAG root and not the single raw leaf.
    const bytes = randomBytes(KUBO_CHUNK_BYTES + 1234);
    const stored = await store.add(Readable.from([bytes]), bytes.length, () => new Error('too large'));
    expect(stored.cid).to.equal(await computeCid(Readable.from([bytes])));
    expect(stored.sha256).to.equal(createHash('sha256').update(bytes).digest('hex'));
    expect(stored.sizeBytes).to.equal(bytes.length);
    expect((await collect(store.cat(stored.cid, 5000))).equals(bytes)).to.equal(true);
    expect((await collect(store.cat(stored.cid, 5000, { offset: 10, length: 20 }))).equals(bytes.subarray(10, 30))).to.equal(true);
  });

  it('pumps any byte range of a two-level DAG to a slow sink, one chunk at a time, equal to the file and to cat', async function () {
    this.timeout(60_000);
    // 175 leaves: more than one node's 174 links, so the root links inner nodes.
    const bytes = randomBytes(175 * KUBO_CHUNK_BYTES + 777);
    const { cid } = await store.add(Readable.from([bytes]), bytes.length, () => new Error('too large'));
    const pumped = async (range?: { offset: number; length: number }) => {
      const parts: Buffer[] = [];
      let inFlight = 0;
      await store.pump(cid, 30_000, range, async (chunk) => {
        inFlight++;
        expect(inFlight, 'the store waits for each write before the next').to.equal(1);
        parts.push(Buffer.from(chunk)); // the store reuses the chunk's memory once this resolves
        await new Promise((r) => setImmediate(r));
        inFlight--;
      });
      return Buffer.concat(parts);
    };
    expect((await pumped()).equals(bytes)).to.equal(true);
    const innerBoundary = 174 * KUBO_CHUNK_BYTES;
    for (const range of [
      { offset: 0, length: 1 },
      { offset: KUBO_CHUNK_BYTES - 5, length: 10 }, // across two leaves
      { offset: innerBoundary - 100, length: 200 }, // across the two inner nodes
      { offset: 3 * KUBO_CHUNK_BYTES, length: 2 * KUBO_CHUNK_BYTES }, // whole leaves
      { offset: bytes.length - 1, length: 1 },
      { offset: bytes.length - 10, length: 1000 }, // past the end: what there is
    ]) {
      const expected = bytes.subarray(range.offset, Math.min(bytes.length, range.offset + range.length));
      expect((await pumped(range)).equals(expected), JSON.stringify(range)).to.equal(true);
      expect((await collect(store.cat(cid, 5000, range))).equals(expected), `cat ${JSON.stringify(range)}`).to.equal(true);
    }
    // A file of one chunk is its raw leaf.
    const small = randomBytes(1000);
    const one = await store.add(Readable.from([small]), small.length, () => new Error('too large'));
    const parts: Buffer[] = [];
    await store.pump(one.cid, 5000, { offset: 10, length: 5 }, async (c) => void parts.push(Buffer.from(c)));
    expect(Buffer.concat(parts).equals(small.subarray(10, 15))).to.equal(true);
  });

  it('ends a pump with the sink’s error, and refuses a CID it does not hold', async () => {
    const bytes = randomBytes(3 * KUBO_CHUNK_BYTES);
    const { cid } = await store.add(Readable.from([bytes]), bytes.length, () => new Error('too large'));
    let calls = 0;
    const err = await store
      .pump(cid, 5000, undefined, async () => {
        calls++;
        throw new Error('client went away');
      })
      .catch((e: Error) => e);
    expect((err as Error).message).to.equal('client went away');
    expect(calls).to.equal(1);
    const missing = await computeCid(Readable.from([randomBytes(10)]));
    const gone = await store.pump(missing, 5000, undefined, async () => undefined).catch((e: Error) => e);
    expect(gone).to.be.instanceOf(Error);
  });

  it('refuses a stream over the size limit with the caller’s error', async () => {
    const err = await store.add(Readable.from([Buffer.alloc(100)]), 99, () => new Error('clip too large')).catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.equal('clip too large');
  });
});
