/**
 * Evidence on its way from the content store into a download (a month's archive, a permit's proof
 * bundle): spooled to a directory of the download's own under GATEWAY_ARCHIVE_SPOOL_DIR, hashed on
 * the way, and sent from there. The tar's manifest (and its length) come before the evidence in the
 * download, so the files must be whole before the first byte is sent; holding gigabytes of video in
 * memory instead is what this replaces.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** An evidence file's content from the content store, until `signal` aborts. */
export type EvidenceContent = (cid: string, signal: AbortSignal) => AsyncIterable<Uint8Array>;

/** An evidence file as a download holds it: on disk, with its hash and size. */
export interface SpooledEvidence {
  file: string;
  sha256: string;
  sizeBytes: number;
}

const SPOOL_PREFIX = 'archive-evidence-';
/** Older than any download: what a crashed gateway left. */
const STALE_SPOOL_MS = 24 * 3_600_000;
/** How long a file may take to start by default; once started, the content store's own bound applies. */
const FIRST_BYTE_MS = 30_000;

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

/**
 * Spooled in writes of this size: awaiting a write for each of kubo's ~14 KB chunks let its
 * response pile up behind the reader, and 64 MiB took 27 s to spool; gathered into 1 MiB writes,
 * 256 MiB took 1 s (measured, 2026-12-07).
 */
const SPOOL_WRITE_BYTES = 1024 * 1024;

async function writeAll(out: fs.FileHandle, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; ) at += (await out.write(bytes, at, bytes.length - at)).bytesWritten;
}

/** One download's spool: each evidence file fetched once, removed together when the download ends or is abandoned. */
export class EvidenceSpool {
  private readonly files = new Map<string, Promise<SpooledEvidence | null>>();

  private constructor(
    readonly dir: string,
    private readonly content: EvidenceContent,
    private readonly firstByteMs: number,
  ) {}

  static async open(root: string, content: EvidenceContent, firstByteMs = FIRST_BYTE_MS): Promise<EvidenceSpool> {
    await fs.mkdir(root, { recursive: true });
    return new EvidenceSpool(await fs.mkdtemp(path.join(root, SPOOL_PREFIX)), content, firstByteMs);
  }

  /** The evidence file of `cid`, spooled once; null when the store does not give it whole (the download then names its CID only). */
  get(cid: string): Promise<SpooledEvidence | null> {
    let file = this.files.get(cid);
    if (!file) {
      file = this.spool(cid, path.join(this.dir, String(this.files.size)));
      this.files.set(cid, file);
    }
    return file;
  }

  /** Idempotent: the end of the download and the response's close may both call it. */
  discard(): Promise<void> {
    return fs.rm(this.dir, { recursive: true, force: true });
  }

  private async spool(cid: string, file: string): Promise<SpooledEvidence | null> {
    const hash = crypto.createHash('sha256');
    let sizeBytes = 0;
    // A store that does not have the file may search for it until the whole transfer's bound (kubo
    // asks the network): what has not started within firstByteMs is left out.
    const stop = new AbortController();
    const firstByte = setTimeout(() => stop.abort(new Error(`no byte of ${cid} within ${this.firstByteMs} ms`)), this.firstByteMs);
    const out = await fs.open(file, 'w');
    const batch = Buffer.allocUnsafe(SPOOL_WRITE_BYTES);
    let held = 0;
    try {
      for await (const chunk of this.content(cid, stop.signal)) {
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
}
