/** The proof bundle format, version 1 (documented in verifier/README.md). */
import { fromUtf8 } from './bytes.js';
import { type FileContent, inMemory } from './content.js';
import { readTar } from './tar.js';

export const BUNDLE_FORMAT = 'compliance-ledger-proof-bundle';
export const BUNDLE_VERSION = 1;

export type BundleSubject = { kind: 'permit'; permitNo: string } | { kind: 'transaction'; txId: string } | { kind: 'range'; from: string; to: string };

export interface ManifestRecord {
  /** The transaction that wrote the record. */
  txId: string;
  /** The world-state key in the chaincode's namespace (composite keys keep their \u0000 separators). */
  key: string;
  /** The record as the bundle shows it; must equal the JSON value the transaction wrote. */
  value: unknown;
}

export interface Manifest {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  channel: string;
  chaincode: string;
  subject: BundleSubject;
  createdAt: string;
  /** The newest block of the bundle: its header hash is what an auditor pins. */
  checkpoint: { number: number; headerHash: string };
  /** Blocks included whole, as blocks/<number>.block. */
  blocks: number[];
  /** The subject's transactions. */
  transactions: { txId: string; blockNumber: number }[];
  records: ManifestRecord[];
  /** Evidence files included, by CID: evidence/<cid>. */
  evidenceFiles: string[];
}

export interface HeaderEntry {
  number: number;
  previousHash: string;
  dataHash: string;
}

/** A bundle read: evidence held as bytes, or (read from disk by the CLI) as files read when checked. */
export interface Bundle<E extends FileContent = FileContent> {
  manifest: Manifest;
  headers: HeaderEntry[];
  blocks: Map<number, Uint8Array>;
  evidence: Map<string, E>;
}

export class BundleFormatError extends Error {
  override readonly name = 'BundleFormatError';
}

/** A file the checks parse, which must be held in memory; `absent` names what is wrong when the bundle lacks it. */
function held(files: Map<string, FileContent>, name: string, absent: string): Uint8Array {
  const content = files.get(name);
  if (!content) throw new BundleFormatError(absent);
  const bytes = inMemory(content);
  if (!bytes) throw new BundleFormatError(`${name} was not read into memory`);
  return bytes;
}

function json<T>(files: Map<string, FileContent>, name: string): T {
  const bytes = held(files, name, `the bundle has no ${name}`);
  try {
    return JSON.parse(fromUtf8(bytes)) as T;
  } catch (e) {
    throw new BundleFormatError(`${name} is not JSON (${(e as Error).message})`);
  }
}

function checkManifest(manifest: Manifest, name: string): Manifest {
  if (manifest === null || typeof manifest !== 'object') throw new BundleFormatError(`${name} is not a JSON object`);
  if (manifest.format !== BUNDLE_FORMAT) throw new BundleFormatError(`${name} format is ${String(manifest.format)}, not ${BUNDLE_FORMAT}`);
  if (manifest.version !== BUNDLE_VERSION)
    throw new BundleFormatError(`bundle version ${String(manifest.version)} is not supported (this verifier reads version ${BUNDLE_VERSION})`);
  for (const field of ['blocks', 'transactions', 'records', 'evidenceFiles'] as const)
    if (!Array.isArray(manifest[field])) throw new BundleFormatError(`${name} has no ${field} list`);
  if (!manifest.checkpoint || typeof manifest.checkpoint.number !== 'number') throw new BundleFormatError(`${name} has no checkpoint`);
  return manifest;
}

/**
 * A bundle's manifest kept on its own, as an archive of version 2 keeps each bundle: the blocks,
 * headers and evidence files it names are the archive's, stored once for all its bundles.
 */
export function readBundleManifest(bytes: Uint8Array, name: string): Manifest {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fromUtf8(bytes)) as Manifest;
  } catch (e) {
    throw new BundleFormatError(`${name} is not JSON (${(e as Error).message})`);
  }
  return checkManifest(manifest, name);
}

export function readBundle(archive: Uint8Array): Bundle<Uint8Array> {
  return bundleOfFiles(readTar(archive));
}

/** A bundle from its files by path (the tar's entries): everything but the evidence must be bytes. */
export function bundleOfFiles<E extends FileContent>(files: Map<string, E>): Bundle<E> {
  const manifest = checkManifest(json<Manifest>(files, 'manifest.json'), 'manifest.json');
  const headers = json<HeaderEntry[]>(files, 'headers.json');
  const blocks = new Map<number, Uint8Array>();
  for (const n of manifest.blocks) {
    blocks.set(n, held(files, `blocks/${n}.block`, `manifest lists block ${n} but blocks/${n}.block is missing`));
  }
  const evidence = new Map<string, E>();
  for (const cid of manifest.evidenceFiles) {
    const e = files.get(`evidence/${cid}`);
    if (!e) throw new BundleFormatError(`manifest lists evidence ${cid} but evidence/${cid} is missing`);
    evidence.set(cid, e);
  }
  return { manifest, headers, blocks, evidence };
}
