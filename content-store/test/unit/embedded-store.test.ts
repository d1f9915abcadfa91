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

  it('refuses a stream over the size limit with the caller’s error', async () => {
    const err = await store.add(Readable.from([Buffer.alloc(100)]), 99, () => new Error('clip too large')).catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.equal('clip too large');
  });
});
