/**
 * Writes the archive fixtures of verifier/test/unit/archive.test.ts from the regulator's peer of a
 * running network (LEDGER_CONNECTION_PROFILE): the archive of the first permit application's
 * instant, as version 2 (buildArchive) and as version 1, the layout the gateway wrote until
 * 2026-12 (each bundle a whole proof bundle), so the verifier's reading of archives already issued
 * stays tested without a network.
 *
 *   npx tsx gateway/tools/archive-fixture.ts <output directory>
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ARCHIVE_FORMAT, ARCHIVE_MANIFEST, type ArchiveManifest, decodeBlock, readTar, writeTar } from '@compliance-ledger/verifier';
import { archiveBytes, buildArchive } from '../src/archive.js';
import { buildBundle } from '../src/bundle-builder.js';
import { regulatorBlockSource } from '../test/support/blocks.js';

const out = process.argv[2];
if (!out) throw new Error('usage: archive-fixture.ts <output directory>');
const peer = regulatorBlockSource();
try {
  const height = await peer.height();
  const source = { height: async () => height, block: peer.block };
  let at: number | undefined;
  for (let n = 1; n < height && at === undefined; n++) {
    const block = decodeBlock(await source.block(n));
    for (const tx of block.transactions) {
      const permit = tx.writes.some((w) => w.namespace === peer.chaincode && new TextDecoder().decode(w.value).includes('"docType":"permit"'));
      if (permit && block.validationCodes[tx.index] === 0) at = tx.timestampMs;
    }
  }
  if (at === undefined) throw new Error('no permit on the channel: run a test that applies for one first');
  const window = { from: new Date(at).toISOString(), to: new Date(at + 1).toISOString() };
  const built = await buildArchive({ source, channel: peer.channel, chaincode: peer.chaincode, subject: { kind: 'range' }, window, spoolDir: os.tmpdir() });
  const v2 = { manifest: built.manifest, archive: await archiveBytes(built) };
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'archive-v2.tar'), v2.archive);

  const bundles: [string, Uint8Array][] = [];
  for (const f of v2.manifest.files) {
    if (f.kind !== 'range' && f.kind !== 'permit') continue;
    const { archive } = await buildBundle({ source, channel: peer.channel, chaincode: peer.chaincode, subject: f.subject });
    bundles.push([f.path.replace(/\.json$/, '.tar'), archive]);
  }
  const files = readTar(v2.archive);
  const v2manifest = JSON.parse(new TextDecoder().decode(files.get(ARCHIVE_MANIFEST)!)) as ArchiveManifest;
  const v1manifest = {
    ...v2manifest,
    format: ARCHIVE_FORMAT,
    version: 1,
    files: v2manifest.files
      .filter((f) => f.kind === 'range' || f.kind === 'permit')
      .map((f) => {
        const bytes = bundles.find(([p]) => p === f.path.replace(/\.json$/, '.tar'))![1];
        return { ...f, path: f.path.replace(/\.json$/, '.tar'), sha256: crypto.createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length };
      }),
  };
  const v1 = writeTar([[ARCHIVE_MANIFEST, new TextEncoder().encode(`${JSON.stringify(v1manifest, null, 2)}\n`)], ...bundles]);
  fs.writeFileSync(path.join(out, 'archive-v1.tar'), v1);
  const { checkpoint } = v2.manifest;
  console.log(`window ${window.from}; checkpoint ${checkpoint.number} ${checkpoint.headerHash}; v2 ${v2.archive.length} bytes, v1 ${v1.length} bytes`);
} finally {
  peer.close();
}
