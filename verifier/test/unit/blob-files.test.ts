/**
 * Bundles and archives held as a Blob, as a browser downloads them (blob-files.ts): the SHA-256
 * fed in pieces against Node's OpenSSL, the Blob's entries and refusals against the in-memory tar
 * reader, evidence streamed and never read whole, and the same verdicts as from memory. In a real
 * browser (Chromium) with a real bundle: gateway/test/integration/proof-bundle.test.ts and the
 * web app's Verify panel, web/test/integration/screen.test.ts.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { expect } from 'chai';
import { verifyArchive, verifyArchiveFiles } from '../../src/archive.js';
import { BlobFile, type BlobSource, isBlobFile, openTarBlob } from '../../src/blob-files.js';
import { toHex, utf8 } from '../../src/bytes.js';
import { CHUNK_BYTES, computeCid } from '../../src/cid.js';
import { digestsOf, type FileContent } from '../../src/content.js';
import { Sha256 } from '../../src/sha256.js';
import { readTar, writeTar } from '../../src/tar.js';
import { verifyBundleBlob } from '../../src/verify.js';

/** A Blob of a copy: Blob parts must be backed by an ArrayBuffer of their own. */
const blobOf = (b: Uint8Array) => new Blob([new Uint8Array(b)]);

const opensslSha256 = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

/** The bytes fed in pieces of the given sizes, cycled. */
function sha256InPieces(bytes: Uint8Array, sizes: number[]): string {
  const h = new Sha256();
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    h.update(bytes.subarray(at, at + n));
    at += n;
  }
  return toHex(h.digest());
}

/**
 * A Blob that records how it is read: `arrayBuffer` of more than `maxWholeBytes` at once fails, as
 * holding an evidence file whole would be a defect; streamed bytes are counted.
 */
function recordingBlob(inner: Blob, maxWholeBytes: number, streamed: { bytes: number }): BlobSource {
  return {
    size: inner.size,
    slice: (start, end, type) => recordingBlob(inner.slice(start, end, type), maxWholeBytes, streamed),
    arrayBuffer: () => {
      if (inner.size > maxWholeBytes) return Promise.reject(new Error(`read ${inner.size} bytes whole`));
      return inner.arrayBuffer();
    },
    stream: () =>
      inner.stream().pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(piece, out) {
            streamed.bytes += piece.length;
            out.enqueue(piece);
          },
        }),
      ),
  };
}

describe('verifier: SHA-256 fed in pieces (unit)', () => {
  it('gives the FIPS 180-4 examples', () => {
    const of = (s: string | Uint8Array) => {
      const h = new Sha256();
      h.update(typeof s === 'string' ? utf8(s) : s);
      return toHex(h.digest());
    };
    expect(of('abc')).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(of('')).to.equal('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(of('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).to.equal('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    expect(of(new Uint8Array(1_000_000).fill(0x61))).to.equal('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it("equals OpenSSL's for every length up to three blocks and beyond, however the bytes are cut", () => {
    const data = crypto.randomBytes(CHUNK_BYTES + 1000);
    const cuts = [[1], [63], [64], [65], [7, 120, 1], [1000, 3], [CHUNK_BYTES]];
    for (let n = 0; n <= 200; n++) {
      const b = data.subarray(0, n);
      for (const sizes of cuts) expect(sha256InPieces(b, sizes), `${n} bytes in pieces of ${sizes}`).to.equal(opensslSha256(b));
    }
    for (const n of [511, 512, 513, 65_535, 65_536, 65_537, data.length]) {
      const b = data.subarray(0, n);
      for (const sizes of cuts) expect(sha256InPieces(b, sizes), `${n} bytes in pieces of ${sizes}`).to.equal(opensslSha256(b));
    }
  });

  it('refuses to be fed or read again once digested', () => {
    const h = new Sha256();
    h.update(utf8('x'));
    h.digest();
    expect(() => h.update(utf8('y'))).to.throw('already digested');
    expect(() => h.digest()).to.throw('already digested');
  });
});

describe('verifier: bundles and archives held as a Blob (unit)', () => {
  const fixture = new Uint8Array(fs.readFileSync(new URL('../fixtures/archive/archive-v2.tar', import.meta.url)));
  const evidence = new Uint8Array(crypto.randomBytes(3 * CHUNK_BYTES + 77));

  it('the same entries as in memory; evidence left in the Blob, streamed, and never read whole', async () => {
    const files = new Map(readTar(fixture));
    files.set('evidence/bafk-test', evidence);
    // Whatever the checks parse may be read whole (the largest block); the evidence, larger, may not.
    const largestHeld = Math.max(...[...readTar(fixture).values()].map((b) => b.length));
    expect(evidence.length).to.be.greaterThan(largestHeld);
    const streamed = { bytes: 0 };
    const opened = await openTarBlob(recordingBlob(blobOf(writeTar(files)), largestHeld, streamed));
    expect([...opened.keys()]).to.deep.equal([...files.keys()]);
    for (const [name, content] of opened) {
      expect(isBlobFile(content), name).to.equal(name.startsWith('evidence/'));
      if (!isBlobFile(content)) expect(Buffer.compare(content, files.get(name)!), name).to.equal(0);
    }
    const large = opened.get('evidence/bafk-test') as FileContent;
    expect(streamed.bytes).to.equal(0);
    expect(await digestsOf(large)).to.deep.equal({ sha256: opensslSha256(evidence), sizeBytes: evidence.length, cid: await computeCid(evidence) });
    expect(streamed.bytes).to.equal(evidence.length);
  });

  it('verifies the fixture archive from a Blob exactly as from memory, and fails it the same when a byte changes', async () => {
    const inMemory = await verifyArchive(fixture);
    expect(inMemory.ok).to.equal(true);
    expect(await verifyArchiveFiles(await openTarBlob(blobOf(fixture)))).to.deep.equal(inMemory);
    // A byte of the last file's content: the tar still reads, the archive's checks fail.
    const files = readTar(fixture);
    const [name, bytes] = [...files].at(-1)!;
    const changed = new Uint8Array(bytes);
    changed[0]! ^= 1;
    files.set(name, changed);
    const bad = writeTar(files);
    const badInMemory = await verifyArchive(bad);
    expect(badInMemory.ok).to.equal(false);
    expect(await verifyArchiveFiles(await openTarBlob(blobOf(bad)))).to.deep.equal(badInMemory);
  });

  it('a bundle it cannot read is one failed bundle.format check, naming the reason (refusals: large-files.test.ts)', async () => {
    const bad = writeTar([['manifest.json', utf8('{}')]]);
    bad[3]! ^= 1;
    const report = await verifyBundleBlob(blobOf(bad), { blockHash: '00'.repeat(32) });
    expect(report.ok).to.equal(false);
    expect(report.checks.map((c) => [c.id, c.status])).to.deep.equal([['bundle.format', 'fail']]);
    expect(report.checks[0]!.detail).to.contain('checksum');
  });

  it('a read stopped early cancels the stream, and the file reads again in full', async () => {
    const file = new BlobFile(blobOf(evidence));
    let cancelled = false;
    const watched = new BlobFile({
      size: file.size,
      slice: () => file.blob,
      arrayBuffer: () => file.blob.arrayBuffer(),
      stream: () =>
        new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(evidence.subarray(0, 10));
          },
          cancel() {
            cancelled = true;
          },
        }),
    });
    for await (const piece of watched.read()) {
      expect(piece.length).to.equal(10);
      break;
    }
    expect(cancelled).to.equal(true);
    const parts: Uint8Array[] = [];
    for await (const p of file.read()) parts.push(p);
    expect(Buffer.compare(Buffer.concat(parts), evidence)).to.equal(0);
  });
});
