/**
 * A file of a bundle or an archive: its bytes, or, for evidence too large to hold (a month's
 * video), a file the verifier reads in order and hashes as it goes. Either way the verifier
 * computes the digests itself; the file only supplies bytes.
 */
import { sha256, toHex } from './bytes.js';
import { CidBuilder, computeCid } from './cid.js';

/** An incremental SHA-256: WebCrypto has none, so a large file brings its platform's. */
export interface IncrementalSha256 {
  update(bytes: Uint8Array): void;
  digest(): Uint8Array;
}

export interface LargeFile {
  /** The size the container declares; the checks count the bytes actually read. */
  readonly size: number;
  /** The bytes in order, in pieces of any size; may be called more than once. */
  read(): AsyncIterable<Uint8Array>;
  createSha256(): IncrementalSha256;
}

export type FileContent = Uint8Array | LargeFile;

/** A bundle's or an archive's files under evidence/ may be large and are read in pieces; every other file is held in memory. */
export const isEvidenceFile = (path: string): boolean => path.startsWith('evidence/');

export const isLargeFile = (c: FileContent): c is LargeFile => !(c instanceof Uint8Array);

/** The bytes of a file held in memory; undefined for a file left on disk (or none). Manifests and blocks must be held. */
export const inMemory = (c: FileContent | undefined): Uint8Array | undefined => (c && !isLargeFile(c) ? c : undefined);

export interface Digests {
  sha256: string;
  sizeBytes: number;
  /** Only for evidence, where the ledger records one. */
  cid?: string;
}

// One pass over a large file gives both digests; the archive's file check and the bundle's evidence
// check then share it rather than reading a gigabyte twice.
const largeDigests = new WeakMap<LargeFile, Promise<Required<Digests>>>();

async function readLarge(file: LargeFile): Promise<Required<Digests>> {
  const hash = file.createSha256();
  const cid = new CidBuilder();
  let sizeBytes = 0;
  for await (const piece of file.read()) {
    hash.update(piece);
    await cid.write(piece);
    sizeBytes += piece.length;
  }
  return { sha256: toHex(hash.digest()), sizeBytes, cid: await cid.end() };
}

/** sha256 and size; with `cid`, the CID too (a large file always gets both in its one pass). */
export async function digestsOf(content: FileContent, withCid = false): Promise<Digests> {
  if (isLargeFile(content)) {
    let pending = largeDigests.get(content);
    if (!pending) {
      pending = readLarge(content);
      largeDigests.set(content, pending);
    }
    return pending;
  }
  const digests: Digests = { sha256: toHex(await sha256(content)), sizeBytes: content.length };
  if (withCid) digests.cid = await computeCid(content);
  return digests;
}
