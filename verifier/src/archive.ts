/**
 * The archive: a month or a time range of the ledger kept as one file for the six years the
 * electronic-archive rule asks for, checkable on a machine with no network. It is a POSIX ustar
 * holding `manifest.json` and the proof bundles of the range (every valid chaincode transaction in
 * the window) and of every permit those transactions touched (its whole trail, also what lies
 * outside the window). Every bundle ends at the same checkpoint, so one pinned block hash proves
 * them all. The manifest lists each file with its SHA-256 and size, so a changed, missing or added
 * file is named before any bundle is opened.
 *
 * Version 2 (written since 2026-12) stores what bundles share once: each block as
 * `blocks/<n>.block`, one `headers.json` from the lowest block any bundle carries to the
 * checkpoint, each evidence file as `evidence/<cid>`; a bundle is its own manifest only
 * (`bundles/range.json`, `bundles/permits/<permitNo>.json`: subject, records, transactions, the
 * blocks and evidence it uses). Every bundle carried the genesis and config blocks and the header
 * chain from block 0 again, so version 1 grew as permits × chain height. Each bundle of version 2 is
 * reassembled from the shared files and gets every check a bundle of version 1 gets.
 * Version 1 (each bundle a whole proof bundle, `bundles/range.tar`, `bundles/permits/<permitNo>.tar`)
 * is still read: archives already issued are kept six years.
 */

import { type Bundle, type BundleSubject, type HeaderEntry, type Manifest, readBundle, readBundleManifest } from './bundle.js';
import { fromUtf8 } from './bytes.js';
import { digestsOf, type FileContent, inMemory, isLargeFile } from './content.js';
import { readTar } from './tar.js';
import { type Check, type Report, type SharedDecoding, type Trust, verifyBundle, verifyBundleContents } from './verify.js';

export const ARCHIVE_FORMAT = 'compliance-ledger-archive';
/** The version this code writes; it reads ARCHIVE_VERSIONS_READ. */
export const ARCHIVE_VERSION = 2;
export const ARCHIVE_VERSIONS_READ: readonly number[] = [1, 2];
export const ARCHIVE_MANIFEST = 'manifest.json';
/** Version 2: the header chain every bundle links to the checkpoint through. */
export const ARCHIVE_HEADERS = 'headers.json';

export interface ArchiveBundleFile {
  /** Path inside the archive: `bundles/range.json`, `bundles/permits/HW-1.json` (version 1: `.tar`). */
  path: string;
  kind: 'range' | 'permit';
  subject: BundleSubject;
  sha256: string;
  sizeBytes: number;
  /** How many of the subject's transactions the bundle holds. */
  transactions: number;
}

/** Version 2: a file bundles share, `blocks/<n>.block`, `headers.json` or `evidence/<cid>`. */
export interface ArchiveSharedFile {
  path: string;
  kind: 'block' | 'headers' | 'evidence';
  sha256: string;
  sizeBytes: number;
}

export type ArchiveFile = ArchiveBundleFile | ArchiveSharedFile;

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  /** 1: whole proof bundles; 2: bundle manifests with blocks, headers and evidence stored once. */
  version: 1 | 2;
  channel: string;
  chaincode: string;
  /** A calendar month in a time zone, or a range of instants. */
  subject: { kind: 'month'; month: string; timeZone: string } | { kind: 'range' };
  /** The window [from, to) of transaction (channel header) times, ISO-8601 UTC. */
  window: { from: string; to: string };
  createdAt: string;
  /** The newest block of the channel when the archive was made: every bundle ends at it. */
  checkpoint: { number: number; headerHash: string };
  /** The lowest and highest block holding a transaction of the window. */
  blockRange: { first: number; last: number };
  transactions: number;
  files: ArchiveFile[];
}

export interface ArchiveFileResult {
  path: string;
  ok: boolean;
  /** Version 2: a block, headers.json or an evidence file, which bundles share (not itself a bundle). */
  shared?: true;
}

export interface ArchiveReport extends Report {
  /** Each listed bundle (version 2: and shared file) and whether every check on it passed. */
  files: ArchiveFileResult[];
}

const isBundleFile = (f: ArchiveFile): f is ArchiveBundleFile => f.kind === 'range' || f.kind === 'permit';
export const blockPath = (n: number) => `blocks/${n}.block`;
export const evidencePath = (cid: string) => `evidence/${cid}`;

const pass = (id: string, detail: string): Check => ({ id, status: 'pass', detail });
const fail = (id: string, detail: string): Check => ({ id, status: 'fail', detail });

/** Files other than evidence are read whole; only `evidence/` may be a file read when checked. */

function parseManifest(files: Map<string, FileContent>): ArchiveManifest | string {
  const bytes = inMemory(files.get(ARCHIVE_MANIFEST));
  if (!bytes) return `no ${ARCHIVE_MANIFEST}`;
  let m: Partial<ArchiveManifest>;
  try {
    m = JSON.parse(fromUtf8(bytes)) as Partial<ArchiveManifest>;
  } catch (e) {
    return `${ARCHIVE_MANIFEST} is not JSON: ${(e as Error).message}`;
  }
  if (m.format !== ARCHIVE_FORMAT || !ARCHIVE_VERSIONS_READ.includes(m.version as number)) {
    return (
      `${ARCHIVE_MANIFEST} is not a ${ARCHIVE_FORMAT} version ${ARCHIVE_VERSIONS_READ.join(' or ')} ` +
      `(format ${String(m.format)}, version ${String(m.version)})`
    );
  }
  if (!Array.isArray(m.files) || !m.checkpoint || !m.window || !m.blockRange) return `${ARCHIVE_MANIFEST} lacks files, checkpoint, window or blockRange`;
  return m as ArchiveManifest;
}

/** What the checks of one archive share: its files, the checks so far, the trust anchor. */
interface Run {
  files: Map<string, FileContent>;
  manifest: ArchiveManifest;
  anchor: Trust;
  checks: Check[];
  signatures: number;
}

/** The listed file is present with the listed hash and size; its content when present. */
async function listedFile(run: Run, f: ArchiveFile): Promise<FileContent | undefined> {
  const content = run.files.get(f.path);
  if (!content) {
    run.checks.push(fail(`file.${f.path}`, `${f.path} is missing`));
    return undefined;
  }
  let digests: Awaited<ReturnType<typeof digestsOf>>;
  try {
    digests = await digestsOf(content);
  } catch (e) {
    // A file read from disk as it is checked (evidence) may fail then: the file is named, not the run aborted.
    run.checks.push(fail(`file.${f.path}`, `${f.path} cannot be read: ${(e as Error).message}`));
    return undefined;
  }
  const { sha256, sizeBytes } = digests;
  run.checks.push(
    sha256 === f.sha256 && sizeBytes === f.sizeBytes
      ? pass(`file.${f.path}`, `sha256 ${sha256}, ${sizeBytes} bytes as listed`)
      : fail(`file.${f.path}`, `${f.path} changed: sha256 ${sha256} and ${sizeBytes} bytes, the manifest lists ${f.sha256} and ${f.sizeBytes} bytes`),
  );
  return content;
}

/** A listed file the checks read (a bundle, its manifest): present, as listed, and in memory. */
async function listedBytes(run: Run, f: ArchiveFile): Promise<Uint8Array | undefined> {
  const content = await listedFile(run, f);
  if (content && isLargeFile(content)) run.checks.push(fail(`file.${f.path}.read`, `${f.path} was not read into memory; only evidence/ may be read later`));
  return content && inMemory(content);
}

/** Checks that hold for a bundle of either version once its manifest is read, then the bundle's own checks. */
async function bundleChecks(run: Run, f: ArchiveBundleFile, inner: Manifest, verify: () => Promise<Report>): Promise<void> {
  const { manifest } = run;
  run.checks.push(
    inner.checkpoint.number === manifest.checkpoint.number && inner.checkpoint.headerHash === manifest.checkpoint.headerHash
      ? pass(`file.${f.path}.checkpoint`, `ends at the archive's checkpoint, block ${manifest.checkpoint.number}`)
      : fail(
          `file.${f.path}.checkpoint`,
          `${f.path} ends at block ${inner.checkpoint.number} (${inner.checkpoint.headerHash}), not at the archive's checkpoint`,
        ),
  );
  if (f.kind === 'range') run.checks.push(rangeMatches(f.path, inner, manifest));
  const report = await verify();
  run.signatures += report.signaturesVerified;
  for (const c of report.checks) run.checks.push({ ...c, id: `${f.path}:${c.id}`, detail: c.status === 'fail' ? `${f.path}: ${c.detail}` : c.detail });
}

/** Version 1: each bundle is a whole proof bundle (tar) of its own. */
async function verifyVersion1(run: Run, f: ArchiveBundleFile): Promise<void> {
  const bytes = await listedBytes(run, f);
  if (!bytes) return;
  let inner: Manifest;
  try {
    inner = readBundle(bytes).manifest;
  } catch (e) {
    run.checks.push(fail(`file.${f.path}.bundle`, `${f.path} is not a readable proof bundle: ${(e as Error).message}`));
    return;
  }
  await bundleChecks(run, f, inner, () => verifyBundle(bytes, run.anchor));
}

/** Version 2: the shared files, hashed once (a bundle's checks then say which of them it relies on). */
interface Shared {
  /** Listed shared files by path, with whether they are present and as listed. */
  intact: Map<string, boolean>;
  headers: HeaderEntry[] | null;
  decoding: SharedDecoding;
}

async function sharedFiles(run: Run): Promise<Shared> {
  const intact = new Map<string, boolean>();
  for (const f of run.manifest.files) {
    if (isBundleFile(f)) continue;
    const before = run.checks.length;
    await listedFile(run, f);
    intact.set(f.path, run.checks.length > before && run.checks.at(-1)!.status === 'pass');
  }
  let headers: HeaderEntry[] | null = null;
  const listed = run.manifest.files.find((f) => f.path === ARCHIVE_HEADERS && f.kind === 'headers');
  const bytes = inMemory(run.files.get(ARCHIVE_HEADERS));
  if (!listed || !bytes) run.checks.push(fail('archive.headers', `the archive of version 2 has no ${ARCHIVE_HEADERS} listed and present`));
  else {
    try {
      const parsed: unknown = JSON.parse(fromUtf8(bytes));
      if (!Array.isArray(parsed)) throw new Error('not a list');
      headers = parsed as HeaderEntry[];
      run.checks.push(pass('archive.headers', `${headers.length} block headers, shared by every bundle`));
    } catch (e) {
      run.checks.push(fail('archive.headers', `${ARCHIVE_HEADERS} is not a JSON list of headers (${(e as Error).message})`));
    }
  }
  return { intact, headers, decoding: { blocks: new WeakMap(), headers: new WeakMap() } };
}

/**
 * Version 2: a bundle is its manifest; its blocks, the header chain and its evidence files are the
 * archive's. It is reassembled from them and gets every check of a proof bundle; a shared file it
 * uses that is missing or changed is named in its own result.
 */
async function verifyVersion2(run: Run, f: ArchiveBundleFile, shared: Shared): Promise<void> {
  const bytes = await listedBytes(run, f);
  if (!bytes) return;
  let inner: Manifest;
  try {
    inner = readBundleManifest(bytes, f.path);
  } catch (e) {
    run.checks.push(fail(`file.${f.path}.bundle`, `${f.path} is not a readable bundle manifest: ${(e as Error).message}`));
    return;
  }
  const uses = [ARCHIVE_HEADERS, ...inner.blocks.map(blockPath), ...inner.evidenceFiles.map(evidencePath)];
  const absent = uses.filter((p) => !shared.intact.has(p) || !run.files.has(p) || (!p.startsWith('evidence/') && !inMemory(run.files.get(p))));
  const changed = uses.filter((p) => shared.intact.get(p) === false && run.files.has(p));
  const problems = [
    absent.length ? `the archive lacks ${absent.join(', ')}, which it uses` : '',
    changed.length ? `it uses ${changed.join(', ')}, which ${changed.length === 1 ? 'is' : 'are'} not as the archive's manifest lists (file.*)` : '',
  ].filter(Boolean);
  run.checks.push(
    problems.length
      ? fail(`file.${f.path}.shared`, `${f.path}: ${problems.join('; ')}`)
      : pass(
          `file.${f.path}.shared`,
          `its ${inner.blocks.length} blocks, ${inner.evidenceFiles.length} evidence files and the header chain are in the archive as listed`,
        ),
  );
  if (absent.length || !shared.headers) return;
  const blocks = new Map(inner.blocks.map((n) => [n, inMemory(run.files.get(blockPath(n)))!] as const));
  const evidence = new Map(inner.evidenceFiles.map((cid) => [cid, run.files.get(evidencePath(cid))!] as const));
  const bundle: Bundle = { manifest: inner, headers: shared.headers, blocks, evidence };
  await bundleChecks(run, f, inner, () => verifyBundleContents(bundle, run.anchor, shared.decoding));
}

/**
 * Verifies an archive given as its files (from the tar, or from a directory it was imported into).
 * Without a trusted hash the archive's own checkpoint hash is used and `archive.trust` says so:
 * the bundles then prove they agree with each other and with that hash, which the reader must
 * compare with one they got elsewhere (the monthly report's PDF, or their own peer).
 */
export async function verifyArchiveFiles(files: Map<string, FileContent>, trust?: Trust): Promise<ArchiveReport> {
  const checks: Check[] = [];
  const fileResults: ArchiveFileResult[] = [];
  const manifest = parseManifest(files);
  if (typeof manifest === 'string') {
    checks.push(fail('archive.format', manifest));
    return { ok: false, checks, firstFailure: checks[0]!, signaturesVerified: 0, files: fileResults };
  }
  const bundles = manifest.files.filter(isBundleFile);
  checks.push(
    pass('archive.format', `${ARCHIVE_FORMAT} version ${manifest.version}, ${bundles.length} bundles, window ${manifest.window.from} to ${manifest.window.to}`),
  );
  // The range bundle is what proves the window's transactions; permit bundles alone prove only trails.
  const ranges = bundles.filter((f) => f.kind === 'range').length;
  checks.push(
    ranges === 1
      ? pass('archive.range', 'one range bundle covers the window')
      : fail('archive.range', `the manifest lists ${ranges} range bundles; an archive has exactly one, covering its window`),
  );
  const listed = new Set(manifest.files.map((f) => f.path));
  const unlisted = [...files.keys()].filter((p) => p !== ARCHIVE_MANIFEST && !listed.has(p));
  checks.push(
    unlisted.length
      ? fail('archive.unlisted', `files the manifest does not list: ${unlisted.join(', ')}`)
      : pass('archive.unlisted', 'every file is listed in the manifest'),
  );
  if (trust) checks.push(pass('archive.trust', 'each bundle is checked against the pinned trust anchor'));
  else {
    checks.push({
      id: 'archive.trust',
      status: 'skipped',
      detail:
        `no hash pinned: the bundles are checked against the archive's own checkpoint, block ${manifest.checkpoint.number} ` +
        `hash ${manifest.checkpoint.headerHash}; compare it with the monthly report or your own peer, or pass --trust`,
    });
  }
  const run: Run = { files, manifest, anchor: trust ?? { blockHash: manifest.checkpoint.headerHash }, checks, signatures: 0 };
  if (manifest.version === 2) {
    const before = checks.length;
    const shared = await sharedFiles(run);
    for (const f of manifest.files.filter((x) => !isBundleFile(x)))
      fileResults.push({ path: f.path, ok: checks.slice(before).every((c) => c.status !== 'fail' || c.id !== `file.${f.path}`), shared: true });
    for (const f of bundles) {
      const start = checks.length;
      await verifyVersion2(run, f, shared);
      fileResults.push({ path: f.path, ok: checks.slice(start).every((c) => c.status !== 'fail') });
    }
  } else {
    for (const f of manifest.files) {
      const start = checks.length;
      if (isBundleFile(f)) await verifyVersion1(run, f);
      else checks.push(fail(`file.${f.path}`, `an archive of version 1 holds bundles only, not a ${String(f.kind)} file`));
      fileResults.push({ path: f.path, ok: checks.slice(start).every((c) => c.status !== 'fail') });
    }
  }
  const firstFailure = checks.find((c) => c.status === 'fail') ?? null;
  return { ok: firstFailure === null, checks, firstFailure, signaturesVerified: run.signatures, files: fileResults };
}

/** The range bundle covers exactly the archive's window and block range. */
function rangeMatches(path: string, inner: Manifest, manifest: ArchiveManifest): Check {
  const id = `file.${path}.window`;
  const s = inner.subject;
  if (s.kind !== 'range' || Date.parse(s.from) !== Date.parse(manifest.window.from) || Date.parse(s.to) !== Date.parse(manifest.window.to)) {
    return fail(id, `${path} covers ${JSON.stringify(s)}, not the archive's window ${manifest.window.from} to ${manifest.window.to}`);
  }
  const numbers = inner.transactions.map((t) => t.blockNumber);
  const first = Math.min(...numbers);
  const last = Math.max(...numbers);
  if (first !== manifest.blockRange.first || last !== manifest.blockRange.last || inner.transactions.length !== manifest.transactions) {
    return fail(
      id,
      `${path} holds ${inner.transactions.length} transactions in blocks ${first}-${last}; ` +
        `the manifest says ${manifest.transactions} in ${manifest.blockRange.first}-${manifest.blockRange.last}`,
    );
  }
  return pass(id, `${manifest.transactions} transactions in blocks ${first}-${last}, the archive's window`);
}

/** Verifies an archive file (the tar itself). */
export async function verifyArchive(archive: Uint8Array, trust?: Trust): Promise<ArchiveReport> {
  let files: Map<string, Uint8Array>;
  try {
    files = readTar(archive);
  } catch (e) {
    return { ok: false, checks: [fail('archive.format', `not a readable tar: ${(e as Error).message}`)], firstFailure: null, signaturesVerified: 0, files: [] };
  }
  return verifyArchiveFiles(files, trust);
}
