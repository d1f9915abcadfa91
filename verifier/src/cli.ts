/**
 * ledger-verify: checks a proof bundle offline and prints each check.
 *   ledger-verify bundle.tar --trust <block hash hex | config.block> [--json]
 *   ledger-verify --header-hash <block file>   (prints a block's number and header hash, for pinning)
 * Exit code 0: every check passed; 1: a check failed; 2: the bundle or the arguments are unusable.
 */
import { existsSync, readFileSync } from 'node:fs';
import { decodeBlock, headerHash } from './block.js';
import { toHex } from './bytes.js';
import { EXIT, type Trust, verifyBundle } from './verify.js';

const USAGE =
  'usage: ledger-verify <bundle.tar> --trust <block header hash (64 hex digits) | path of a ' +
  'config block> [--json]\n       ledger-verify --header-hash <block file, e.g. from peer ' +
  'channel fetch>';

export async function main(argv: string[]): Promise<number> {
  const args = [...argv];
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
  const trustArg = t >= 0 ? args[t + 1] : undefined;
  const file = args.find((a, i) => !a.startsWith('--') && i !== t + 1);
  if (!file || !trustArg) {
    process.stderr.write(`${USAGE}\n`);
    return EXIT.UNUSABLE;
  }
  let trust: Trust;
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(trustArg)) trust = { blockHash: trustArg };
  else if (existsSync(trustArg)) trust = { configBlock: new Uint8Array(readFileSync(trustArg)) };
  else {
    process.stderr.write(`--trust ${trustArg} is neither a 64-digit hex block hash nor a readable config block file\n${USAGE}\n`);
    return EXIT.UNUSABLE;
  }
  let archive: Uint8Array;
  try {
    archive = new Uint8Array(readFileSync(file));
  } catch (e) {
    process.stderr.write(`cannot read ${file}: ${(e as Error).message}\n`);
    return EXIT.UNUSABLE;
  }
  const report = await verifyBundle(archive, trust);
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    for (const c of report.checks) process.stdout.write(`${c.status === 'pass' ? 'PASS' : c.status === 'fail' ? 'FAIL' : 'SKIP'} ${c.id}: ${c.detail}\n`);
    const counts = { pass: 0, fail: 0, skipped: 0 };
    for (const c of report.checks) counts[c.status]++;
    process.stdout.write(
      `${report.ok ? 'VERIFIED' : 'NOT VERIFIED'}: ${counts.pass} passed, ${counts.fail} failed, ` +
        `${counts.skipped} skipped; ${report.signaturesVerified} signatures checked\n`,
    );
  }
  if (report.checks.length === 1 && report.checks[0]!.id === 'bundle.format') return EXIT.UNUSABLE;
  return report.ok ? EXIT.OK : EXIT.FAILED;
}
