/**
 * The archive's own checks, before any bundle is opened: its manifest, unlisted, missing and
 * changed files, each named. (Archives of real bundles, verified end to end and tampered, are in
 * gateway/test/integration/monthly-report-archive.test.ts.)
 */
import * as crypto from 'node:crypto';
import { expect } from 'chai';
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, type ArchiveManifest, verifyArchive } from '../../src/index.js';
import { writeTar } from '../../src/tar.js';

const enc = new TextEncoder();
const hash = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

function archiveOf(files: Record<string, Uint8Array>, listed: Record<string, Uint8Array> = files, patch: Partial<ArchiveManifest> = {}): Uint8Array {
  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
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

describe('verifier: archive file checks (unit)', () => {
  const a = enc.encode('not a bundle A');

  it('refuses something that is not an archive of this format and version, as unusable (one check)', async () => {
    const bundleLike = writeTar([['manifest.json', enc.encode(JSON.stringify({ format: 'compliance-ledger-proof-bundle', version: 1 }))]]);
    const r = await verifyArchive(bundleLike);
    expect(r.ok).to.equal(false);
    expect(r.checks.map((c) => c.id)).to.deep.equal(['archive.format']);
    expect(r.checks[0]!.detail).to.contain('is not a compliance-ledger-archive version 1');
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
