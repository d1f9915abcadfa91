/**
 * ledger-verify: checks a proof bundle or an archive offline and prints each check.
 *   ledger-verify bundle.tar --trust <block hash hex | config.block> [--json]
 *   ledger-verify --header-hash <block file>   (prints a block's number and header hash, for pinning)
 *   ledger-verify archive import <archive.tar> <empty directory>
 *   ledger-verify archive verify <archive.tar | directory> [--trust <block hash hex | config.block>] [--json]
 * Exit code 0: every check passed; 1: a check failed; 2: the bundle or the arguments are unusable.
 */
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ARCHIVE_MANIFEST, type ArchiveReport, verifyArchiveFiles } from './archive.js';
import { decodeBlock, headerHash } from './block.js';
import { toHex } from './bytes.js';
import { isLargeFile } from './content.js';
import { type FilesOnDisk, openDirectory, openTar } from './node-files.js';
import { TarError } from './tar.js';
import { type Check, EXIT, type Report, type Trust, unreadableBundle, verifyBundleFiles } from './verify.js';

const USAGE =
  'usage: ledger-verify <bundle.tar> --trust <block header hash (64 hex digits) | path of a ' +
  'config block> [--json]\n       ledger-verify --header-hash <block file, e.g. from peer ' +
  'channel fetch>\n       ledger-verify archive import <archive.tar> <empty directory>\n' +
  '       ledger-verify archive verify <archive.tar | directory> [--trust <hash | config block>] [--json]';

/** `--trust` as a hash or a config block file; undefined when absent, a message when unusable. */
function trustOf(args: string[]): Trust | undefined | string {
  const t = args.indexOf('--trust');
  if (t < 0) return undefined;
  const arg = args[t + 1];
  if (arg && /^(0x)?[0-9a-fA-F]{64}$/.test(arg)) return { blockHash: arg };
  if (arg && existsSync(arg)) return { configBlock: new Uint8Array(readFileSync(arg)) };
  return `--trust ${arg ?? ''} is neither a 64-digit hex block hash nor a readable config block file`;
}

/** Prints the checks shown, then the verdict with the counts of all checks (an archive shows only some). */
function printChecks(shown: Check[], ok: boolean, signaturesVerified: number, all: Check[] = shown): void {
  for (const c of shown) process.stdout.write(`${c.status === 'pass' ? 'PASS' : c.status === 'fail' ? 'FAIL' : 'SKIP'} ${c.id}: ${c.detail}\n`);
  const counts = { pass: 0, fail: 0, skipped: 0 };
  for (const c of all) counts[c.status]++;
  process.stdout.write(
    `${ok ? 'VERIFIED' : 'NOT VERIFIED'}: ${counts.pass} passed, ${counts.fail} failed, ${counts.skipped} skipped; ${signaturesVerified} signatures checked\n`,
  );
}

async function archiveCommand(args: string[]): Promise<number> {
  const [action, source, target] = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--trust');
  if (action === 'import' && source && target) {
    // Importing lays the archive's files out as they are, into a directory that holds nothing
    // else, so that verifying the directory later checks exactly what the archive held.
    if (existsSync(target) && readdirSync(target).length > 0) {
      process.stderr.write(`${target} is not empty; import into an empty or new directory\n`);
      return EXIT.UNUSABLE;
    }
    let opened: FilesOnDisk;
    try {
      opened = await openTar(source);
    } catch (e) {
      process.stderr.write(`${source} is not a readable archive: ${(e as Error).message}\n`);
      return EXIT.UNUSABLE;
    }
    try {
      const { files } = opened;
      if (!files.has(ARCHIVE_MANIFEST)) {
        process.stderr.write(`${source} has no ${ARCHIVE_MANIFEST}: not an archive\n`);
        return EXIT.UNUSABLE;
      }
      for (const [name, content] of files) {
        const out = path.resolve(target, name);
        if (!out.startsWith(path.resolve(target) + path.sep)) {
          process.stderr.write(`${source} names a file outside the directory (${name}); nothing more is written\n`);
          return EXIT.UNUSABLE;
        }
        mkdirSync(path.dirname(out), { recursive: true });
        // Evidence is copied in pieces, as it was read: a video never has to fit in memory.
        if (isLargeFile(content)) await pipeline(Readable.from(content.read()), createWriteStream(out));
        else writeFileSync(out, content);
      }
      process.stdout.write(`imported ${files.size} files into ${target}; check them with: ledger-verify archive verify ${target}\n`);
      return EXIT.OK;
    } finally {
      await opened.close();
    }
  }
  if (action === 'verify' && source) {
    const trust = trustOf(args);
    if (typeof trust === 'string') {
      process.stderr.write(`${trust}\n${USAGE}\n`);
      return EXIT.UNUSABLE;
    }
    let opened: FilesOnDisk;
    try {
      opened = statSync(source).isDirectory() ? await openDirectory(source) : await openTar(source);
    } catch (e) {
      process.stderr.write(`cannot read ${source}: ${(e as Error).message}\n`);
      return EXIT.UNUSABLE;
    }
    let report: ArchiveReport;
    try {
      report = await verifyArchiveFiles(opened.files, trust);
    } finally {
      await opened.close();
    }
    if (args.includes('--json')) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      // An archive holds thousands of checks: the failures are printed, then one line per file.
      printChecks(
        report.checks.filter((c) => c.status !== 'pass' || c.id.startsWith('archive.')),
        report.ok,
        report.signaturesVerified,
        report.checks,
      );
      // Shared files (version 2: one per block) are named only when bad; the bundles each get a line.
      for (const f of report.files) if (!f.shared || !f.ok) process.stdout.write(`${f.ok ? 'OK  ' : 'BAD '} ${f.path}\n`);
      const shared = report.files.filter((f) => f.shared && f.ok).length;
      if (shared > 0) process.stdout.write(`OK   ${shared} shared files (blocks, headers.json, evidence) as the manifest lists them\n`);
    }
    if (report.checks.length === 1 && report.checks[0]!.id === 'archive.format') return EXIT.UNUSABLE;
    return report.ok ? EXIT.OK : EXIT.FAILED;
  }
  process.stderr.write(`${USAGE}\n`);
  return EXIT.UNUSABLE;
}

export async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  if (args[0] === 'archive') return archiveCommand(args.slice(1));
  const h = args.indexOf('--header-hash');
  if (h >= 0) {
    // The auditor pins a block they fetched from their own peer: its header hash, computed here.
    const file = args[h + 1];
    if (!file) {
      process.stderr.write(`${USAGE}\n`);
      return EXIT.UNUSABLE;
    }
    try {
      const block = decodeBlock(new Uint8Array(readFileSync(file)));
      process.stdout.write(`${block.header.number} ${toHex(await headerHash(block.header))}\n`);
      return EXIT.OK;
    } catch (e) {
      process.stderr.write(`${file} is not a readable Fabric block: ${(e as Error).message}\n`);
      return EXIT.UNUSABLE;
    }
  }
  const json = args.includes('--json');
  const t = args.indexOf('--trust');
  const file = args.find((a, i) => !a.startsWith('--') && i !== t + 1);
  const trust = trustOf(args);
  if (!file || trust === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.UNUSABLE;
  }
  if (typeof trust === 'string') {
    process.stderr.write(`${trust}\n${USAGE}\n`);
    return EXIT.UNUSABLE;
  }
  let report: Report;
  let opened: FilesOnDisk | undefined;
  try {
    opened = await openTar(file);
    report = await verifyBundleFiles(opened.files, trust);
  } catch (e) {
    // A file that is not a tar is a bundle that cannot be read (bundle.format), as for the library.
    if (!(e instanceof TarError)) {
      process.stderr.write(`cannot read ${file}: ${(e as Error).message}\n`);
      return EXIT.UNUSABLE;
    }
    report = unreadableBundle(e);
  } finally {
    await opened?.close();
  }
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else printChecks(report.checks, report.ok, report.signaturesVerified);
  if (report.checks.length === 1 && report.checks[0]!.id === 'bundle.format') return EXIT.UNUSABLE;
  return report.ok ? EXIT.OK : EXIT.FAILED;
}
