/**
 * The archive's own checks, before any bundle is opened: its manifest, unlisted, missing and
 * changed files, each named. (Archives of real bundles, verified end to end and tampered, are in
 * gateway/test/integration/monthly-report-archive.test.ts.)
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ARCHIVE_FORMAT, type ArchiveManifest, verifyArchive } from '../../src/index.js';
import { readTar, writeTar } from '../../src/tar.js';

const enc = new TextEncoder();
const hash = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

function archiveOf(files: Record<string, Uint8Array>, listed: Record<string, Uint8Array> = files, patch: Partial<ArchiveManifest> = {}): Uint8Array {
  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT,
    version: 1,
    channel: 'compliance',
    chaincode: 'compliance',
    subject: { kind: 'range' },
    window: { from: '2026-11-30T16:00:00.000Z', to: '2026-12-31T16:00:00.000Z' },
    createdAt: '2026-12-31T17:00:00.000Z',
    checkpoint: { number: 9, headerHash: 'ab'.repeat(32) },
    blockRange: { first: 3, last: 8 },
    transactions: 4,
    files: Object.entries(listed).map(([path, b]) => ({
      path,
      kind: 'permit' as const,
      subject: { kind: 'permit' as const, permitNo: path },
      sha256: hash(b),
      sizeBytes: b.length,
      transactions: 1,
    })),
    ...patch,
  };
  return writeTar([['manifest.json', enc.encode(JSON.stringify(manifest))], ...Object.entries(files)]);
}

const failures = (r: { checks: { id: string; status: string; detail: string }[] }) => r.checks.filter((c) => c.status === 'fail');

describe('verifier: archive file checks, version 1 layout (unit)', () => {
  const a = enc.encode('not a bundle A');

  it('refuses something that is not an archive of this format and version, as unusable (one check)', async () => {
    const bundleLike = writeTar([['manifest.json', enc.encode(JSON.stringify({ format: 'compliance-ledger-proof-bundle', version: 1 }))]]);
    const r = await verifyArchive(bundleLike);
    expect(r.ok).to.equal(false);
    expect(r.checks.map((c) => c.id)).to.deep.equal(['archive.format']);
    expect(r.checks[0]!.detail).to.contain('is not a compliance-ledger-archive version 1 or 2');
    expect((await verifyArchive(enc.encode('garbage'.repeat(100)))).checks[0]!.id).to.equal('archive.format');
  });

  it('names a changed file by its hash and size, and a missing one', async () => {
    const changed = archiveOf({ 'bundles/permits/HW-1.tar': enc.encode('not a bundle B') }, { 'bundles/permits/HW-1.tar': a });
    const r = await verifyArchive(changed);
    const f = failures(r).find((c) => c.id === 'file.bundles/permits/HW-1.tar')!;
    expect(f.detail).to.match(/^bundles\/permits\/HW-1\.tar changed: sha256 [0-9a-f]{64} and 14 bytes, the manifest lists [0-9a-f]{64} and 14 bytes$/);
    expect(r.files).to.deep.equal([{ path: 'bundles/permits/HW-1.tar', ok: false }]);
    const missing = await verifyArchive(archiveOf({}, { 'bundles/permits/HW-2.tar': a }));
    expect(failures(missing).find((c) => c.id === 'file.bundles/permits/HW-2.tar')!.detail).to.equal('bundles/permits/HW-2.tar is missing');
  });

  it('names files the manifest does not list, and a listed file that is not a bundle', async () => {
    const r = await verifyArchive(archiveOf({ 'bundles/permits/HW-1.tar': a, 'notes.txt': enc.encode('x') }, { 'bundles/permits/HW-1.tar': a }));
    expect(failures(r).map((c) => c.id)).to.deep.equal(['archive.range', 'archive.unlisted', 'file.bundles/permits/HW-1.tar.bundle']);
    expect(failures(r)[1]!.detail).to.equal('files the manifest does not list: notes.txt');
    expect(r.checks.find((c) => c.id === 'file.bundles/permits/HW-1.tar')!.status).to.equal('pass');
  });

  it('says which hash it relied on when none is pinned; an archive without its range bundle fails', async () => {
    const r = await verifyArchive(archiveOf({}, {}));
    const trust = r.checks.find((c) => c.id === 'archive.trust')!;
    expect(trust.status).to.equal('skipped');
    expect(trust.detail)
      .to.contain(`block 9 hash ${'ab'.repeat(32)}`)
      .and.to.contain('--trust');
    expect(failures(r).map((c) => c.id)).to.deep.equal(['archive.range']);
    const pinned = await verifyArchive(archiveOf({}, {}), { blockHash: 'cd'.repeat(32) });
    expect(pinned.checks.find((c) => c.id === 'archive.trust')!.status).to.equal('pass');
  });
});

/**
 * Archives of real bundles, made from a test network's blocks by gateway/tools/archive-fixture.ts:
 * one of version 2 (what the gateway writes) and the same window in version 1 (what it wrote until
 * 2026-12, kept six years). Tampering rewrites the manifest's hashes where an attacker would.
 */
describe('verifier: archive versions 2 and 1 of real bundles (unit)', () => {
  const fixture = (name: string) => new Uint8Array(fs.readFileSync(fileURLToPath(new URL(`../fixtures/archive/${name}`, import.meta.url))));
  const v2 = fixture('archive-v2.tar');
  const manifestOf = (files: Map<string, Uint8Array>) => JSON.parse(new TextDecoder().decode(files.get('manifest.json')!)) as ArchiveManifest;
  const m = manifestOf(readTar(v2));
  const trust = { blockHash: m.checkpoint.headerHash };
  const bundles = m.files.filter((f) => f.kind === 'range' || f.kind === 'permit').map((f) => f.path);
  const blocksOf = (files: Map<string, Uint8Array>, p: string) => JSON.parse(new TextDecoder().decode(files.get(p)!)).blocks as number[];

  /** The fixture with its files edited; the manifest's hash and size of `rehash` are made to match. */
  function edited(edit: (files: Map<string, Uint8Array>) => void, rehash: string[] = []): Uint8Array {
    const files = new Map(readTar(v2));
    edit(files);
    const manifest = manifestOf(files);
    for (const f of manifest.files) {
      const bytes = files.get(f.path);
      if (rehash.includes(f.path) && bytes) Object.assign(f, { sha256: hash(bytes), sizeBytes: bytes.length });
    }
    files.set('manifest.json', enc.encode(JSON.stringify(manifest)));
    return writeTar(files);
  }
  const flipped = (bytes: Uint8Array, at: number) => {
    const copy = new Uint8Array(bytes);
    copy[at] = copy[at]! ^ 1;
    return copy;
  };

  it('version 2: a good archive verifies, each block once, every bundle with every proof-bundle check', async () => {
    const files = readTar(v2);
    expect(m.version).to.equal(2);
    expect(bundles).to.include('bundles/range.json').and.to.have.length.greaterThan(1);
    const used = new Set(bundles.flatMap((p) => blocksOf(files, p)));
    expect([...files.keys()].filter((p) => p.startsWith('blocks/')).sort()).to.deep.equal([...used].map((n) => `blocks/${n}.block`).sort());
    const r = await verifyArchive(v2, trust);
    expect(failures(r)).to.deep.equal([]);
    expect(r.ok).to.equal(true);
    expect(r.files.every((f) => f.ok)).to.equal(true);
    for (const p of bundles) {
      for (const id of ['chain.headers', 'chain.trust', 'block.0.dataHash'])
        expect(r.checks.find((c) => c.id === `${p}:${id}`)?.status, `${p}:${id}`).to.equal('pass');
      expect(
        r.checks.some((c) => c.id.startsWith(`${p}:record.`) && c.status === 'pass'),
        p,
      ).to.equal(true);
    }
    expect(r.signaturesVerified).to.be.greaterThan(0);
  });

  it('version 2: one changed byte in a shared block fails every bundle that uses it and names the file', async () => {
    const files = readTar(v2);
    const r = await verifyArchive(
      edited((f) => f.set('blocks/0.block', flipped(f.get('blocks/0.block')!, 100))),
      trust,
    );
    expect(failures(r).find((c) => c.id === 'file.blocks/0.block')!.detail).to.match(/^blocks\/0\.block changed: sha256/);
    expect(r.files.find((f) => f.path === 'blocks/0.block')).to.deep.equal({ path: 'blocks/0.block', ok: false, shared: true });
    expect(r.files.filter((f) => f.shared && f.ok).length).to.equal(m.files.length - bundles.length - 1);
    for (const p of bundles) {
      expect(blocksOf(files, p)).to.include(0);
      expect(failures(r).find((c) => c.id === `file.${p}.shared`)!.detail).to.contain('it uses blocks/0.block, which is not as');
      expect(r.files.find((f) => f.path === p)!.ok).to.equal(false);
    }
    // The same change with the manifest's hash rewritten: each bundle's own block checks still fail.
    const forged = await verifyArchive(
      edited((f) => f.set('blocks/0.block', flipped(f.get('blocks/0.block')!, 100)), ['blocks/0.block']),
      trust,
    );
    expect(forged.ok).to.equal(false);
    for (const p of bundles)
      expect(
        failures(forged).some((c) => c.id.startsWith(`${p}:block.0.`)),
        p,
      ).to.equal(true);
    // A block only a permit bundle uses fails that bundle only.
    const rangeBlocks = new Set(blocksOf(files, 'bundles/range.json'));
    const permit = bundles.find((p) => blocksOf(files, p).some((n) => !rangeBlocks.has(n)))!;
    const own = blocksOf(files, permit).find((n) => !rangeBlocks.has(n))!;
    const one = await verifyArchive(
      edited((f) => f.set(`blocks/${own}.block`, flipped(f.get(`blocks/${own}.block`)!, 200))),
      trust,
    );
    expect(one.files.find((f) => f.path === permit)!.ok).to.equal(false);
    expect(one.files.find((f) => f.path === 'bundles/range.json')!.ok).to.equal(true);
  });

  it('version 2: a missing shared block, and a bundle pointing at a block the archive lacks, fail with the file named', async () => {
    const missing = await verifyArchive(
      edited((f) => f.delete('blocks/0.block')),
      trust,
    );
    expect(failures(missing).find((c) => c.id === 'file.blocks/0.block')!.detail).to.equal('blocks/0.block is missing');
    for (const p of bundles) expect(failures(missing).find((c) => c.id === `file.${p}.shared`)!.detail).to.contain('the archive lacks blocks/0.block');
    const files = readTar(v2);
    const absent = Math.max(...[...files.keys()].filter((p) => p.startsWith('blocks/')).map((p) => Number(p.split(/[/.]/)[1]))) - 1;
    expect(files.has(`blocks/${absent}.block`)).to.equal(false);
    const pointing = await verifyArchive(
      edited(
        (f) => {
          const bundle = JSON.parse(new TextDecoder().decode(f.get('bundles/range.json')!));
          bundle.blocks.push(absent);
          f.set('bundles/range.json', enc.encode(JSON.stringify(bundle)));
        },
        ['bundles/range.json'],
      ),
      trust,
    );
    expect(failures(pointing).map((c) => c.id)).to.deep.equal(['file.bundles/range.json.shared']);
    expect(failures(pointing)[0]!.detail).to.equal(`bundles/range.json: the archive lacks blocks/${absent}.block, which it uses`);
  });

  it('version 2: a header chain that does not link fails every bundle; a file not in the manifest is named', async () => {
    const broken = await verifyArchive(
      edited(
        (f) => {
          const headers = JSON.parse(new TextDecoder().decode(f.get('headers.json')!)) as { number: number; previousHash: string }[];
          const h = headers.find((x) => x.number === 50)!;
          h.previousHash = `${h.previousHash[0] === '0' ? '1' : '0'}${h.previousHash.slice(1)}`;
          f.set('headers.json', enc.encode(JSON.stringify(headers)));
        },
        ['headers.json'],
      ),
      trust,
    );
    expect(broken.ok).to.equal(false);
    for (const p of bundles) expect(failures(broken).find((c) => c.id === `${p}:chain.headers`)!.detail).to.contain('hash chain broken at block 50');
    const extra = await verifyArchive(
      edited((f) => f.set('blocks/9999.block', new Uint8Array(3))),
      trust,
    );
    expect(failures(extra).map((c) => c.id)).to.deep.equal(['archive.unlisted']);
    expect(failures(extra)[0]!.detail).to.equal('files the manifest does not list: blocks/9999.block');
  });

  it('version 1: an archive of whole proof bundles, as issued until 2026-12, still verifies, and a changed bundle is named', async () => {
    const v1 = fixture('archive-v1.tar');
    const files = readTar(v1);
    const m1 = manifestOf(files);
    expect(m1.version).to.equal(1);
    expect([...files.keys()].every((p) => p === 'manifest.json' || (p.startsWith('bundles/') && p.endsWith('.tar')))).to.equal(true);
    const r = await verifyArchive(v1, { blockHash: m1.checkpoint.headerHash });
    expect(failures(r)).to.deep.equal([]);
    expect(r.checks.find((c) => c.id === 'bundles/range.tar:chain.trust')!.status).to.equal('pass');
    // The same window as version 2, at the same checkpoint, grew as bundles × chain height.
    expect(m1.checkpoint).to.deep.equal(m.checkpoint);
    const permit = m1.files.find((f) => f.kind === 'permit')!.path;
    const changed = new Map(files);
    changed.set(permit, flipped(files.get(permit)!, 700));
    const bad = await verifyArchive(writeTar(changed), { blockHash: m1.checkpoint.headerHash });
    expect(failures(bad).find((c) => c.id === `file.${permit}`)!.detail).to.contain(`${permit} changed: sha256`);
    expect(bad.files.find((f) => f.path === permit)!.ok).to.equal(false);
    expect(bad.files.find((f) => f.path === 'bundles/range.tar')!.ok).to.equal(true);
  });
});
