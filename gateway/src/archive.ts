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
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
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
  tarEnd,
  tarHeader,
  tarPadding,
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

/** An evidence file's content from the content store, until `signal` aborts. */
export type ArchiveEvidence = (cid: string, signal: AbortSignal) => AsyncIterable<Uint8Array>;

export interface ArchiveRequest {
  /** Blocks at a fixed height: every bundle must end at the same checkpoint. */
  source: BlockSource;
  channel: string;
  chaincode: string;
  subject: ArchiveManifest['subject'];
  window: { from: string; to: string };
  /** An evidence file's content, chunk by chunk; a failure while it is read means the store does not have it (CID only). */
  evidence?: ArchiveEvidence;
  /** How long an evidence file may take to start (default 30 s); once started, the content store's own bound applies. */
  evidenceFirstByteMs?: number;
  /** Where evidence files are spooled while the archive is built and sent (GATEWAY_ARCHIVE_SPOOL_DIR). */
  spoolDir: string;
  /** Selection summaries kept from earlier bundles of the same source (see BundleRequest.summaries). */
  summaries?: Map<number, BlockSummary>;
}

type Hashed = 'sha256' | 'sizeBytes';

const SPOOL_PREFIX = 'archive-evidence-';
/** Older than any download: what a crashed gateway left. */
const STALE_SPOOL_MS = 24 * 3_600_000;

/** Removes the spool directories a gateway that stopped mid-download left behind (at start). */
export async function removeStaleSpools(root: string, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const name of await fs.readdir(root).catch(() => [] as string[])) {
    if (!name.startsWith(SPOOL_PREFIX)) continue;
    const dir = path.join(root, name);
    const stat = await fs.stat(dir).catch(() => undefined);
    if (stat && now - stat.mtimeMs > STALE_SPOOL_MS) {
      await fs.rm(dir, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

/** An evidence file as an archive holds it: on disk, with the hash and size the manifest lists. */
interface SpooledEvidence {
  file: string;
  sha256: string;
  sizeBytes: number;
}

/** A built archive: its manifest now, its bytes when read. */
export interface BuiltArchive {
  manifest: ArchiveManifest;
  /** The archive's length in bytes. */
  sizeBytes: number;
  /** The archive (POSIX ustar), file by file; the spooled evidence is removed once read to the end or abandoned. */
  chunks(): AsyncGenerator<Uint8Array>;
  /** Removes the spooled evidence of an archive that will not be read. */
  discard(): Promise<void>;
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

/**
 * Spooled in writes of this size: awaiting a write for each of kubo's ~14 KB chunks let its
 * response pile up behind the reader, and 64 MiB took 27 s to spool; gathered into 1 MiB writes,
 * 256 MiB took 1 s (measured, 2026-12-07).
 */
const SPOOL_WRITE_BYTES = 1024 * 1024;

async function writeAll(out: fs.FileHandle, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; ) at += (await out.write(bytes, at, bytes.length - at)).bytesWritten;
}

async function spool(dir: string, name: string, content: ArchiveEvidence, cid: string, firstByteMs: number): Promise<SpooledEvidence | null> {
  const file = path.join(dir, name);
  const hash = crypto.createHash('sha256');
  let sizeBytes = 0;
  // A store that does not have the file may search for it until the whole transfer's bound (kubo
  // asks the network): what has not started within firstByteMs is left out.
  const stop = new AbortController();
  const firstByte = setTimeout(() => stop.abort(new Error(`no byte of ${cid} within ${firstByteMs} ms`)), firstByteMs);
  const out = await fs.open(file, 'w');
  const batch = Buffer.allocUnsafe(SPOOL_WRITE_BYTES);
  let held = 0;
  try {
    for await (const chunk of content(cid, stop.signal)) {
      clearTimeout(firstByte);
      hash.update(chunk);
      sizeBytes += chunk.length;
      for (let at = 0; at < chunk.length; ) {
        const n = Math.min(chunk.length - at, batch.length - held);
        batch.set(chunk.subarray(at, at + n), held);
        held += n;
        at += n;
        if (held === batch.length) {
          await writeAll(out, batch);
          held = 0;
        }
      }
    }
    await writeAll(out, batch.subarray(0, held));
  } catch {
    await out.close();
    await fs.rm(file, { force: true });
    return null;
  } finally {
    clearTimeout(firstByte);
  }
  await out.close();
  return { file, sha256: hash.digest('hex'), sizeBytes };
}

export async function buildArchive(req: ArchiveRequest): Promise<BuiltArchive> {
  await fs.mkdir(req.spoolDir, { recursive: true });
  const spoolDir = await fs.mkdtemp(path.join(req.spoolDir, SPOOL_PREFIX));
  const discard = () => fs.rm(spoolDir, { recursive: true, force: true });
  try {
    return await assemble(req, spoolDir, discard);
  } catch (e) {
    await discard();
    throw e;
  }
}

async function assemble(req: ArchiveRequest, spoolDir: string, discard: () => Promise<void>): Promise<BuiltArchive> {
  // What the bundles share, kept once: the carried blocks' bytes (each bundle decodes only the
  // blocks it reads records from, and lets them go), the summaries, the evidence files by CID.
  const blockBytes = new Map<number, Uint8Array>();
  const summaries = req.summaries ?? new Map<number, BlockSummary>();
  const evidence = new Map<string, SpooledEvidence | null>();
  const content = req.evidence;
  const fetchEvidence = content
    ? async (cid: string) => {
        if (!evidence.has(cid)) evidence.set(cid, await spool(spoolDir, `${evidence.size}`, content, cid, req.evidenceFirstByteMs ?? 30_000));
        return evidence.get(cid)!;
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
  const stored = (size: number) => 512 + size + tarPadding(size).length;
  const sizeBytes =
    stored(manifestBytes.length) +
    files.reduce((sum, e) => sum + stored(e.bytes.length), 0) +
    spooled.reduce((sum, e) => sum + stored(e.sizeBytes), 0) +
    tarEnd().length;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      for (const [name, bytes] of [[ARCHIVE_MANIFEST, manifestBytes] as const, ...files.map((e) => [e.file.path, e.bytes] as const)]) {
        yield tarHeader(name, bytes.length);
        yield bytes;
        yield tarPadding(bytes.length);
      }
      for (const e of spooled) {
        yield tarHeader(e.path, e.sizeBytes);
        let sent = 0;
        for await (const chunk of createReadStream(e.file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
          sent += chunk.length;
          yield chunk;
        }
        // The manifest already promised this size: a spooled file that changed underneath cannot be sent.
        if (sent !== e.sizeBytes) throw new Error(`spooled evidence ${e.path} changed on disk (${sent} bytes, ${e.sizeBytes} spooled)`);
        yield tarPadding(e.sizeBytes);
      }
      yield tarEnd();
    } finally {
      await discard();
    }
  }
  return { manifest, sizeBytes, chunks, discard };
}
