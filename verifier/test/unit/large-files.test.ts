/**
 * Evidence read from disk in pieces (the CLI's reader): the CID and sha256 computed as the bytes
 * pass must equal those of the whole file, against the gateway's CID code (an independent
 * implementation checked against kubo in gateway/test/integration/ipfs.test.ts), and a tar on disk
 * must give the entries and refusals of the in-memory reader. The CLI over real archives and
 * bundles with evidence: gateway/test/integration/monthly-report-archive.test.ts and
 * proof-bundle.test.ts.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeCid as contentStoreCid } from '@compliance-ledger/content-store';
import { expect } from 'chai';
import { verifyArchive, verifyArchiveFiles } from '../../src/archive.js';
import { openTarBlob } from '../../src/blob-files.js';
import { CHUNK_BYTES, CidBuilder, MAX_LINKS } from '../../src/cid.js';
import { digestsOf, type FileContent, isLargeFile, type LargeFile } from '../../src/content.js';
import { openDirectory, openTar } from '../../src/node-files.js';
import { readTar, TarError, writeTar } from '../../src/tar.js';

/** Deterministic bytes: a test that fails can be rerun on the same content. */
function bytesOf(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The bytes cut at uneven places, pieces of 1 byte to 1.5 chunks, as a disk or a socket might give them. */
function* pieces(bytes: Uint8Array, seed: number): Generator<Uint8Array> {
  const sizes = [1, 7, CHUNK_BYTES - 3, CHUNK_BYTES, Math.floor(CHUNK_BYTES * 1.5), 4096, CHUNK_BYTES + 1];
  let at = 0;
  for (let i = seed; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

function largeFile(bytes: Uint8Array, seed: number, reads: { count: number }): LargeFile {
  return {
    size: bytes.length,
    createSha256: () => {
      const h = crypto.createHash('sha256');
      return { update: (b) => void h.update(b), digest: () => new Uint8Array(h.digest()) };
    },
    async *read() {
      reads.count++;
      yield* pieces(bytes, seed);
    },
  };
}

describe('verifier: evidence read in pieces (unit)', () => {
  // Around a chunk, around the first level of links (174 chunks), and an empty file.
  const sizes = [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 5, MAX_LINKS * CHUNK_BYTES, MAX_LINKS * CHUNK_BYTES + 1];

  for (const [i, size] of sizes.entries()) {
    it(`${size} bytes: the CID built from uneven pieces and from the whole equal the gateway's`, async function () {
      this.timeout(60_000);
      const bytes = bytesOf(size, i + 1);
      const expected = await contentStoreCid(
        (async function* () {
          yield bytes;
        })(),
      );
      const builder = new CidBuilder();
      for (const p of pieces(bytes, i)) await builder.write(p);
      expect(await builder.end()).to.equal(expected);
      expect((await digestsOf(bytes, true)).cid).to.equal(expected);
      const reads = { count: 0 };
      const large = await digestsOf(largeFile(bytes, i, reads));
      expect(large).to.deep.equal({ sha256: crypto.createHash('sha256').update(bytes).digest('hex'), sizeBytes: size, cid: expected });
    });
  }

  it('reads a large file once however often its digests are asked for, and counts the bytes read, not the size declared', async () => {
    const bytes = bytesOf(CHUNK_BYTES * 2 + 9, 42);
    const reads = { count: 0 };
    const file = largeFile(bytes, 3, reads);
    const [a, b] = await Promise.all([digestsOf(file), digestsOf(file, true)]);
    expect(a).to.deep.equal(b);
    expect(reads.count).to.equal(1);
    const short: LargeFile = { ...largeFile(bytes.subarray(0, 100), 0, reads), size: bytes.length };
    expect((await digestsOf(short)).sizeBytes).to.equal(100);
  });
});

describe('verifier: archives and bundles read from disk (unit)', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verifier-disk-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const fixture = new Uint8Array(fs.readFileSync(new URL('../fixtures/archive/archive-v2.tar', import.meta.url)));
  const evidence = bytesOf(3 * CHUNK_BYTES + 77, 5);

  async function bytesOfContent(c: FileContent): Promise<Uint8Array> {
    if (!isLargeFile(c)) return c;
    const parts: Uint8Array[] = [];
    for await (const p of c.read()) parts.push(p);
    return new Uint8Array(Buffer.concat(parts));
  }

  it('a large file that fails while it is read fails its check, naming it, and the rest of the run goes on', async () => {
    const broken: LargeFile = {
      size: 10,
      createSha256: () => ({ update: () => undefined, digest: () => new Uint8Array(32) }),
      read: async function* () {
        yield new Uint8Array(4);
        throw new Error('EIO: i/o error, read');
      },
    };
    const files = new Map<string, FileContent>(readTar(fixture));
    const manifest = JSON.parse(new TextDecoder().decode(files.get('manifest.json') as Uint8Array)) as { files: object[] };
    manifest.files.push({ path: 'evidence/bafk-broken', kind: 'evidence', sha256: '00'.repeat(32), sizeBytes: 10 });
    files.set('manifest.json', new TextEncoder().encode(JSON.stringify(manifest)));
    files.set('evidence/bafk-broken', broken);
    const r = await verifyArchiveFiles(files);
    const failed = r.checks.filter((c) => c.status === 'fail');
    expect(failed.map((c) => c.id)).to.deep.equal(['file.evidence/bafk-broken']);
    expect(failed[0]!.detail).to.contain('cannot be read: EIO');
    expect(r.checks.filter((c) => c.status === 'pass').length).to.be.greaterThan(10);
  });

  it('a tar on disk: the same entries as in memory, evidence left on disk and read in pieces', async () => {
    const files = new Map(readTar(fixture));
    files.set('evidence/bafk-test', evidence);
    const file = path.join(dir, 'with-evidence.tar');
    fs.writeFileSync(file, writeTar(files));
    const opened = await openTar(file);
    try {
      expect([...opened.files.keys()]).to.deep.equal([...files.keys()]);
      for (const [name, content] of opened.files) {
        expect(isLargeFile(content), name).to.equal(name.startsWith('evidence/'));
        expect(Buffer.compare(await bytesOfContent(content), files.get(name)!), name).to.equal(0);
      }
    } finally {
      await opened.close();
    }
  });

  it('verifies the fixture archive from disk (tar and directory) exactly as from memory', async () => {
    const file = path.join(dir, 'fixture.tar');
    fs.writeFileSync(file, fixture);
    const inMemory = await verifyArchive(fixture);
    expect(inMemory.ok).to.equal(true);
    const tar = await openTar(file);
    const imported = path.join(dir, 'imported');
    for (const [name, bytes] of readTar(fixture)) {
      fs.mkdirSync(path.dirname(path.join(imported, name)), { recursive: true });
      fs.writeFileSync(path.join(imported, name), bytes);
    }
    const directory = await openDirectory(imported);
    try {
      expect(await verifyArchiveFiles(tar.files)).to.deep.equal(inMemory);
      expect(await verifyArchiveFiles(directory.files)).to.deep.equal(inMemory);
    } finally {
      await tar.close();
    }
  });

  it('follows a link to a directory (a folder kept elsewhere) and walks a link back up the tree only once', async () => {
    const inMemory = await verifyArchive(fixture);
    const entries = readTar(fixture);
    // The archive's first folder is laid out elsewhere and linked in, as an auditor might link a large evidence folder.
    const folder = [...entries.keys()].find((n) => n.includes('/'))!.split('/')[0]!;
    const linked = path.join(dir, 'linked');
    const elsewhere = path.join(dir, 'folder-elsewhere');
    let moved = 0;
    for (const [name, bytes] of entries) {
      const inFolder = name.startsWith(`${folder}/`);
      const target = inFolder ? path.join(elsewhere, name.slice(folder.length + 1)) : path.join(linked, name);
      if (inFolder) moved++;
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, bytes);
    }
    expect(moved).to.be.greaterThan(0);
    fs.symlinkSync(elsewhere, path.join(linked, folder), 'dir');
    fs.symlinkSync(linked, path.join(elsewhere, 'loop'), 'dir');
    const directory = await openDirectory(linked);
    expect([...directory.files.keys()].filter((n) => n.startsWith(`${folder}/`))).to.have.length(moved);
    expect(await verifyArchiveFiles(directory.files)).to.deep.equal(inMemory);
  });

  it('the CLI: verifies the archive on disk, counting every check in its verdict; imports it and verifies the directory the same', async () => {
    const file = path.join(dir, 'cli.tar');
    fs.writeFileSync(file, fixture);
    const cli = fileURLToPath(new URL('../../bin/ledger-verify.mjs', import.meta.url));
    const report = await verifyArchive(fixture);
    const counts = (status: string) => report.checks.filter((c) => c.status === status).length;
    const verdict = `VERIFIED: ${counts('pass')} passed, 0 failed, ${counts('skipped')} skipped; ${report.signaturesVerified} signatures checked`;
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    const fromTar = run('archive', 'verify', file);
    expect(fromTar.status, fromTar.stderr).to.equal(0);
    expect(fromTar.stdout).to.contain(verdict);
    expect(run('archive', 'import', file, path.join(dir, 'cli-imported')).status).to.equal(0);
    const fromDirectory = run('archive', 'verify', path.join(dir, 'cli-imported'));
    expect(fromDirectory.stdout).to.contain(verdict);
    const notTar = path.join(dir, 'not-a-tar');
    const corrupted = new Uint8Array(fixture);
    corrupted[3]! ^= 1;
    fs.writeFileSync(notTar, corrupted);
    const refused = run('archive', 'verify', notTar);
    expect(refused.status).to.equal(2);
    expect(refused.stderr).to.contain('checksum');
  });

  it('refuses what the in-memory reader refuses, from disk and from a Blob: a bad header checksum, an entry past the end, a name twice', async () => {
    const refusals: [string, Uint8Array][] = [];
    const bad = writeTar([['manifest.json', new TextEncoder().encode('{}')]]);
    bad[3]! ^= 1;
    refusals.push(['checksum', bad]);
    refusals.push(['runs past the end', writeTar([['evidence/x', evidence]]).subarray(0, 512 + 1000)]);
    const twice = writeTar([['a', evidence.subarray(0, 10)]]);
    refusals.push(['twice', new Uint8Array(Buffer.concat([twice.subarray(0, 1024), twice]))]);
    for (const [message, bytes] of refusals) {
      const file = path.join(dir, `refused-${message.replaceAll(' ', '-')}.tar`);
      fs.writeFileSync(file, bytes);
      expect(() => readTar(bytes), message).to.throw(TarError, message);
      let thrown: unknown;
      await openTar(file).catch((e: unknown) => {
        thrown = e;
      });
      expect(thrown, message).to.be.instanceOf(TarError);
      expect((thrown as Error).message, message).to.contain(message);
      const fromBlob = await openTarBlob(new Blob([new Uint8Array(bytes)])).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(fromBlob, message).to.be.instanceOf(TarError);
      expect((fromBlob as Error).message, message).to.contain(message);
    }
  });
});
