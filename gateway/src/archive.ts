/**
 * Builds the archive of a month or a time range (format: verifier/src/archive.ts, README "Archive"):
 * the range bundle of the window and the trail bundle of every permit its transactions touched,
 * all read from one block source at one height (the route: the caller's own peer), so that they
 * share one checkpoint and one pinned hash proves them all.
 */
import * as crypto from 'node:crypto';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_MANIFEST,
  ARCHIVE_VERSION,
  type ArchiveFile,
  type ArchiveManifest,
  type DecodedBlock,
  writeTar,
} from '@compliance-ledger/verifier';
import { type BlockSource, type BlockSummary, BundleSubjectNotFound, buildBundle, permitsReferredBy } from './bundle-builder.js';
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

export async function buildArchive(req: ArchiveRequest): Promise<{ archive: Uint8Array; manifest: ArchiveManifest }> {
  const decoded = new Map<number, DecodedBlock>();
  const bundle = (subject: Parameters<typeof buildBundle>[0]['subject']) =>
    buildBundle({
      source: req.source,
      channel: req.channel,
      chaincode: req.chaincode,
      subject,
      decoded,
      ...(req.summaries ? { summaries: req.summaries } : {}),
      ...(req.evidence ? { evidence: req.evidence } : {}),
    });
  let range: Awaited<ReturnType<typeof bundle>>;
  try {
    range = await bundle({ kind: 'range', from: req.window.from, to: req.window.to });
  } catch (e) {
    if (e instanceof BundleSubjectNotFound)
      throw new ApiError('NOT_FOUND', `no valid chaincode transaction between ${req.window.from} and ${req.window.to}: nothing to archive`);
    throw e;
  }
  const permitNos = [...new Set(range.manifest.records.flatMap((r) => permitsReferredBy(r.value as Record<string, unknown>)))].sort();
  const entries: { file: Omit<ArchiveFile, 'sha256' | 'sizeBytes'>; bytes: Uint8Array }[] = [
    {
      file: { path: 'bundles/range.tar', kind: 'range', subject: range.manifest.subject, transactions: range.manifest.transactions.length },
      bytes: range.archive,
    },
  ];
  for (const permitNo of permitNos) {
    const b = await bundle({ kind: 'permit', permitNo });
    entries.push({
      file: { path: `bundles/permits/${permitNo}.tar`, kind: 'permit', subject: b.manifest.subject, transactions: b.manifest.transactions.length },
      bytes: b.archive,
    });
  }
  const blocks = range.manifest.transactions.map((t) => t.blockNumber);
  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    channel: req.channel,
    chaincode: req.chaincode,
    subject: req.subject,
    window: req.window,
    createdAt: new Date().toISOString(),
    checkpoint: range.manifest.checkpoint,
    blockRange: { first: Math.min(...blocks), last: Math.max(...blocks) },
    transactions: range.manifest.transactions.length,
    files: entries.map((e) => ({ ...e.file, sha256: crypto.createHash('sha256').update(e.bytes).digest('hex'), sizeBytes: e.bytes.length })),
  };
  const enc = new TextEncoder();
  const archive = writeTar([
    [ARCHIVE_MANIFEST, enc.encode(`${JSON.stringify(manifest, null, 2)}\n`)],
    ...entries.map((e): [string, Uint8Array] => [e.file.path, e.bytes]),
  ]);
  return { archive, manifest };
}
