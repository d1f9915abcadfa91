/**
 * The archive: a month or a time range of the ledger kept as one file for the six years the
 * electronic-archive rule asks for, checkable on a machine with no network. It is a POSIX ustar
 * holding `manifest.json` and proof bundles (format version 1, unchanged): the range bundle of every
 * valid chaincode transaction in the window, and one bundle per permit those transactions touched
 * (its whole trail, also what lies outside the window). Every bundle ends at the same checkpoint,
 * so one pinned block hash proves them all. The manifest lists each file with its SHA-256 and
 * size, so a changed, missing or added file is named before any bundle is opened.
 */
import { type BundleSubject, type Manifest, readBundle } from './bundle.js';
import { fromUtf8, sha256, toHex } from './bytes.js';
import { readTar } from './tar.js';
import { type Check, type Report, type Trust, verifyBundle } from './verify.js';

export const ARCHIVE_FORMAT = 'compliance-ledger-archive';
export const ARCHIVE_VERSION = 1;
export const ARCHIVE_MANIFEST = 'manifest.json';

export interface ArchiveFile {
  /** Path inside the archive, e.g. `bundles/range.tar`, `bundles/permits/HW-1.tar`. */
  path: string;
  kind: 'range' | 'permit';
  subject: BundleSubject;
  sha256: string;
  sizeBytes: number;
  /** How many of the subject's transactions the bundle holds. */
  transactions: number;
}

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  version: typeof ARCHIVE_VERSION;
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

export interface ArchiveReport extends Report {
  /** Each listed file and whether every check on it passed. */
  files: { path: string; ok: boolean }[];
}

const pass = (id: string, detail: string): Check => ({ id, status: 'pass', detail });
const fail = (id: string, detail: string): Check => ({ id, status: 'fail', detail });

function parseManifest(files: Map<string, Uint8Array>): ArchiveManifest | string {
  const bytes = files.get(ARCHIVE_MANIFEST);
  if (!bytes) return `no ${ARCHIVE_MANIFEST}`;
  let m: Partial<ArchiveManifest>;
  try {
    m = JSON.parse(fromUtf8(bytes)) as Partial<ArchiveManifest>;
  } catch (e) {
    return `${ARCHIVE_MANIFEST} is not JSON: ${(e as Error).message}`;
  }
  if (m.format !== ARCHIVE_FORMAT || m.version !== ARCHIVE_VERSION) {
    return `${ARCHIVE_MANIFEST} is not a ${ARCHIVE_FORMAT} version ${ARCHIVE_VERSION} (format ${String(m.format)}, version ${String(m.version)})`;
  }
  if (!Array.isArray(m.files) || !m.checkpoint || !m.window || !m.blockRange) return `${ARCHIVE_MANIFEST} lacks files, checkpoint, window or blockRange`;
  return m as ArchiveManifest;
}

/**
 * Verifies an archive given as its files (from the tar, or from a directory it was imported into).
 * Without a trusted hash the archive's own checkpoint hash is used and `archive.trust` says so:
 * the bundles then prove they agree with each other and with that hash, which the reader must
 * compare with one they got elsewhere (the monthly report's PDF, or their own peer).
 */
export async function verifyArchiveFiles(files: Map<string, Uint8Array>, trust?: Trust): Promise<ArchiveReport> {
  const checks: Check[] = [];
  const fileResults: { path: string; ok: boolean }[] = [];
  let signaturesVerified = 0;
  const done = (): ArchiveReport => {
    const firstFailure = checks.find((c) => c.status === 'fail') ?? null;
    return { ok: firstFailure === null, checks, firstFailure, signaturesVerified, files: fileResults };
  };
  const manifest = parseManifest(files);
  if (typeof manifest === 'string') {
    checks.push(fail('archive.format', manifest));
    return done();
  }
  checks.push(
    pass(
      'archive.format',
      `${ARCHIVE_FORMAT} version ${ARCHIVE_VERSION}, ${manifest.files.length} bundles, window ${manifest.window.from} to ${manifest.window.to}`,
    ),
  );
  // The range bundle is what proves the window's transactions; permit bundles alone prove only trails.
  const ranges = manifest.files.filter((f) => f.kind === 'range').length;
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
  const anchor: Trust = trust ?? { blockHash: manifest.checkpoint.headerHash };

  for (const f of manifest.files) {
    const before = checks.length;
    const bytes = files.get(f.path);
    if (!bytes) {
      checks.push(fail(`file.${f.path}`, `${f.path} is missing`));
      fileResults.push({ path: f.path, ok: false });
      continue;
    }
    const digest = toHex(await sha256(bytes));
    checks.push(
      digest === f.sha256 && bytes.length === f.sizeBytes
        ? pass(`file.${f.path}`, `sha256 ${digest}, ${bytes.length} bytes as listed`)
        : fail(`file.${f.path}`, `${f.path} changed: sha256 ${digest} and ${bytes.length} bytes, the manifest lists ${f.sha256} and ${f.sizeBytes} bytes`),
    );
    let inner: Manifest | undefined;
    try {
      inner = readBundle(bytes).manifest;
    } catch (e) {
      checks.push(fail(`file.${f.path}.bundle`, `${f.path} is not a readable proof bundle: ${(e as Error).message}`));
    }
    if (inner) {
      checks.push(
        inner.checkpoint.number === manifest.checkpoint.number && inner.checkpoint.headerHash === manifest.checkpoint.headerHash
          ? pass(`file.${f.path}.checkpoint`, `ends at the archive's checkpoint, block ${manifest.checkpoint.number}`)
          : fail(
              `file.${f.path}.checkpoint`,
              `${f.path} ends at block ${inner.checkpoint.number} (${inner.checkpoint.headerHash}), not at the archive's checkpoint`,
            ),
      );
      if (f.kind === 'range') checks.push(rangeMatches(f.path, inner, manifest));
      const report = await verifyBundle(bytes, anchor);
      signaturesVerified += report.signaturesVerified;
      for (const c of report.checks) checks.push({ ...c, id: `${f.path}:${c.id}`, detail: c.status === 'fail' ? `${f.path}: ${c.detail}` : c.detail });
    }
    fileResults.push({ path: f.path, ok: checks.slice(before).every((c) => c.status !== 'fail') });
  }
  return done();
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
