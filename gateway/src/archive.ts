/**
 * Builds the archive of a month or a time range (format version 2: verifier/src/archive.ts, README
 * "Monthly reports and the archive"): the range bundle of the window and the trail bundle of every
 * permit its transactions touched, all read from one block source at one height (the route: the
 * caller's own peer), so that they share one checkpoint and one pinned hash proves them all. Each
 * block, the header chain and each evidence file is written once, however many bundles use it: an
 * archive then grows with the blocks it holds, not with permits × chain height.
 */
import * as crypto from 'node:crypto';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_HEADERS,
  ARCHIVE_MANIFEST,
  ARCHIVE_VERSION,
  type ArchiveBundleFile,
  type ArchiveFile,
  type ArchiveManifest,
  type ArchiveSharedFile,
  blockPath,
  evidencePath,
  writeTar,
} from '@compliance-ledger/verifier';
import {
  type BlockSource,
  type BlockSummary,
  type BundleParts,
  BundleSubjectNotFound,
  collectBundle,
  headerEntry,
  permitsReferredBy,
} from './bundle-builder.js';
import { ApiError } from './errors.js';

export interface ArchiveRequest {
  /** Blocks at a fixed height: every bundle must end at the same checkpoint. */
  source: BlockSource;
  channel: string;
  chaincode: string;
  subject: ArchiveManifest['subject'];
  window: { from: string; to: string };
  evidence?: (cid: string) => Promise<Uint8Array | null>;
  /** Selection summaries kept from earlier bundles of the same source (see BundleRequest.summaries). */
  summaries?: Map<number, BlockSummary>;
}

type Hashed = 'sha256' | 'sizeBytes';

export async function buildArchive(req: ArchiveRequest): Promise<{ archive: Uint8Array; manifest: ArchiveManifest }> {
  // What the bundles share, kept once: the carried blocks' bytes (each bundle decodes only the
  // blocks it reads records from, and lets them go), the summaries, the evidence files by CID.
  const blockBytes = new Map<number, Uint8Array>();
  const summaries = req.summaries ?? new Map<number, BlockSummary>();
  const evidence = new Map<string, Uint8Array | null>();
  const evidenceOnce = req.evidence;
  const fetchEvidence = evidenceOnce
    ? async (cid: string) => {
        if (!evidence.has(cid)) evidence.set(cid, await evidenceOnce(cid));
        return evidence.get(cid)!;
      }
    : undefined;
  const bundle = (subject: Parameters<typeof collectBundle>[0]['subject']) =>
    collectBundle({
      source: req.source,
      channel: req.channel,
      chaincode: req.chaincode,
      subject,
      blockBytes,
      summaries,
      ...(fetchEvidence ? { evidence: fetchEvidence } : {}),
    });
  let range: BundleParts;
  try {
    range = await bundle({ kind: 'range', from: req.window.from, to: req.window.to });
  } catch (e) {
    if (e instanceof BundleSubjectNotFound)
      throw new ApiError('NOT_FOUND', `no valid chaincode transaction between ${req.window.from} and ${req.window.to}: nothing to archive`);
    throw e;
  }
  const enc = new TextEncoder();
  const files: { file: Omit<ArchiveBundleFile, Hashed> | Omit<ArchiveSharedFile, Hashed>; bytes: Uint8Array }[] = [];
  const used = new Set<number>();
  const usedEvidence = new Set<string>();
  let lowest = range.lowestHeader;
  const add = (path: string, kind: ArchiveBundleFile['kind'], parts: BundleParts) => {
    for (const n of parts.manifest.blocks) used.add(n);
    for (const cid of parts.manifest.evidenceFiles) usedEvidence.add(cid);
    lowest = Math.min(lowest, parts.lowestHeader);
    const bytes = enc.encode(`${JSON.stringify(parts.manifest)}\n`);
    files.push({ file: { path, kind, subject: parts.manifest.subject, transactions: parts.manifest.transactions.length }, bytes });
  };
  add('bundles/range.json', 'range', range);
  const permitNos = [...new Set(range.manifest.records.flatMap((r) => permitsReferredBy(r.value as Record<string, unknown>)))].sort();
  for (const permitNo of permitNos) add(`bundles/permits/${permitNo}.json`, 'permit', await bundle({ kind: 'permit', permitNo }));

  const checkpoint = range.manifest.checkpoint;
  const headers = [];
  for (let n = lowest; n <= checkpoint.number; n++) headers.push(headerEntry(summaries.get(n)!.header));
  files.unshift({ file: { path: ARCHIVE_HEADERS, kind: 'headers' }, bytes: enc.encode(`${JSON.stringify(headers)}\n`) });
  for (const n of [...used].sort((a, b) => a - b)) files.push({ file: { path: blockPath(n), kind: 'block' }, bytes: blockBytes.get(n)! });
  for (const cid of [...usedEvidence].sort()) files.push({ file: { path: evidencePath(cid), kind: 'evidence' }, bytes: evidence.get(cid)! });

  const blocks = range.manifest.transactions.map((t) => t.blockNumber);
  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    channel: req.channel,
    chaincode: req.chaincode,
    subject: req.subject,
    window: req.window,
    createdAt: new Date().toISOString(),
    checkpoint,
    blockRange: { first: Math.min(...blocks), last: Math.max(...blocks) },
    transactions: range.manifest.transactions.length,
    files: files.map((e) => ({ ...e.file, sha256: crypto.createHash('sha256').update(e.bytes).digest('hex'), sizeBytes: e.bytes.length }) as ArchiveFile),
  };
  const archive = writeTar([
    [ARCHIVE_MANIFEST, enc.encode(`${JSON.stringify(manifest, null, 2)}\n`)],
    ...files.map((e): [string, Uint8Array] => [e.file.path, e.bytes]),
  ]);
  return { archive, manifest };
}
