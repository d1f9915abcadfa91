/**
 * Builds the archive of a month or a time range (format version 2: verifier/src/archive.ts, README
 * "Monthly reports and the archive"): the range bundle of the window and the trail bundle of every
 * permit its transactions touched, all read from one block source at one height (the route: the
 * caller's own peer), so that they share one checkpoint and one pinned hash proves them all. Each
 * block, the header chain and each evidence file is written once, however many bundles use it: an
 * archive then grows with the blocks it holds, not with permits × chain height.
 *
 * Evidence files may be gigabytes of video: each is spooled to a temporary file as it is read from
 * the content store (hashed on the way, for the manifest, which comes first in the archive) and
 * streamed from there, so that the gateway holds no evidence file in memory, and the archive itself
 * is never assembled: it is written out file by file.
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
import { type EvidenceContent, EvidenceSpool, type SpooledEvidence } from './evidence-spool.js';
import { type StreamedTar, streamedTar } from './tar-stream.js';

export interface ArchiveRequest {
  /** Blocks at a fixed height: every bundle must end at the same checkpoint. */
  source: BlockSource;
  channel: string;
  chaincode: string;
  subject: ArchiveManifest['subject'];
  window: { from: string; to: string };
  /** An evidence file's content, chunk by chunk; a failure while it is read means the store does not have it (CID only). */
  evidence?: EvidenceContent;
  /** How long an evidence file may take to start (default 30 s); once started, the content store's own bound applies. */
  evidenceFirstByteMs?: number;
  /** Where evidence files are spooled while the archive is built and sent (GATEWAY_ARCHIVE_SPOOL_DIR). */
  spoolDir: string;
  /** Selection summaries kept from earlier bundles of the same source (see BundleRequest.summaries). */
  summaries?: Map<number, BlockSummary>;
}

type Hashed = 'sha256' | 'sizeBytes';

/** A built archive: its manifest now, its bytes when read. */
export interface BuiltArchive extends StreamedTar {
  manifest: ArchiveManifest;
}

/** The whole archive in memory, for tools and benchmarks over archives without evidence (the gateway streams it). */
export async function archiveBytes(built: BuiltArchive): Promise<Uint8Array> {
  const out = new Uint8Array(built.sizeBytes);
  let at = 0;
  for await (const chunk of built.chunks()) {
    out.set(chunk, at);
    at += chunk.length;
  }
  if (at !== built.sizeBytes) throw new Error(`the archive is ${at} bytes, ${built.sizeBytes} announced`);
  return out;
}

export async function buildArchive(req: ArchiveRequest): Promise<BuiltArchive> {
  // Without a content store nothing is spooled; the spool directory is still one per download.
  const spool = await EvidenceSpool.open(req.spoolDir, req.evidence ?? noEvidence, req.evidenceFirstByteMs);
  const discard = () => spool.discard();
  try {
    return await assemble(req, req.evidence ? spool : undefined, discard);
  } catch (e) {
    await discard();
    throw e;
  }
}

async function* noEvidence(): AsyncGenerator<Uint8Array> {}

async function assemble(req: ArchiveRequest, spool: EvidenceSpool | undefined, discard: () => Promise<void>): Promise<BuiltArchive> {
  // What the bundles share, kept once: the carried blocks' bytes (each bundle decodes only the
  // blocks it reads records from, and lets them go), the summaries, the evidence files by CID (the spool's).
  const blockBytes = new Map<number, Uint8Array>();
  const summaries = req.summaries ?? new Map<number, BlockSummary>();
  const evidence = new Map<string, SpooledEvidence>();
  const fetchEvidence = spool
    ? async (cid: string) => {
        const spooled = await spool.get(cid);
        if (spooled) evidence.set(cid, spooled);
        return spooled;
      }
    : undefined;
  const bundle = (subject: Parameters<typeof collectBundle>[0]['subject']) =>
    collectBundle<SpooledEvidence>({
      source: req.source,
      channel: req.channel,
      chaincode: req.chaincode,
      subject,
      blockBytes,
      summaries,
      ...(fetchEvidence ? { evidence: fetchEvidence } : {}),
    });
  let range: BundleParts<SpooledEvidence>;
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
  const add = (path: string, kind: ArchiveBundleFile['kind'], parts: BundleParts<SpooledEvidence>) => {
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
  const spooled = [...usedEvidence].sort().map((cid) => ({ path: evidencePath(cid), ...evidence.get(cid)! }));

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
    files: [
      ...files.map((e) => ({ ...e.file, sha256: crypto.createHash('sha256').update(e.bytes).digest('hex'), sizeBytes: e.bytes.length }) as ArchiveFile),
      ...spooled.map((e): ArchiveFile => ({ path: e.path, kind: 'evidence', sha256: e.sha256, sizeBytes: e.sizeBytes })),
    ],
  };
  const manifestBytes = enc.encode(`${JSON.stringify(manifest, null, 2)}\n`);
  const tar = streamedTar(
    [
      { path: ARCHIVE_MANIFEST, bytes: manifestBytes },
      ...files.map((e) => ({ path: e.file.path, bytes: e.bytes })),
      ...spooled.map((e) => ({ path: e.path, spooled: e })),
    ],
    discard,
  );
  return { manifest, ...tar };
}
