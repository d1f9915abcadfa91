import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { GateRole, GateSnapshot } from '@compliance-ledger/schema';
import { generateCredentialOfficeKey } from './office-key.js';
import { decideAtGate } from './verify.js';

const USAGE = `gate-verify --snapshot FILE --permit PERMIT_NO [--role worker|guardian] [--max-age-ms MS] (--code TEXT | --code-file FILE)
gate-verify office-key --office-id ID --out FILE

Decides offline whether a worker code admits its holder at the gate of a permit. Prints the decision
as JSON; exit code 0 pass, 1 refuse, 2 bad usage. The code text is what a QR scanner reads
(zbarimg --raw -q badge.png).

office-key writes a new credential office key file (mode 0600, never overwriting one) and prints
its address, to register on the ledger as a device of kind credential_office.`;

interface Sink {
  write(text: string): unknown;
}

export async function main(argv: string[], out: Sink = process.stdout, err: Sink = process.stderr, nowMs = Date.now()): Promise<number> {
  if (argv[0] === 'office-key') return officeKey(argv.slice(1), out, err);
  let v: ReturnType<typeof parse>['values'];
  try {
    v = parse(argv).values;
  } catch (e) {
    err.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (v.help) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  const role = (v.role ?? 'worker') as GateRole;
  const maxAge = Number(v['max-age-ms'] ?? 15 * 60_000);
  const code = v.code ?? (v['code-file'] !== undefined ? readFileSync(v['code-file'], 'utf8') : undefined);
  if (v.snapshot === undefined || v.permit === undefined || code === undefined || !['worker', 'guardian'].includes(role) || !Number.isFinite(maxAge)) {
    err.write(`give --snapshot, --permit, --code or --code-file, a role of worker or guardian and a numeric --max-age-ms\n${USAGE}\n`);
    return 2;
  }
  const snapshot = JSON.parse(readFileSync(v.snapshot, 'utf8')) as GateSnapshot;
  const decision = decideAtGate(code, snapshot, { permitNo: v.permit, role, nowMs, maxSnapshotAgeMs: maxAge });
  out.write(`${JSON.stringify(decision)}\n`);
  return decision.pass ? 0 : 1;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      snapshot: { type: 'string' },
      permit: { type: 'string' },
      role: { type: 'string' },
      'max-age-ms': { type: 'string' },
      code: { type: 'string' },
      'code-file': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
}

function officeKey(argv: string[], out: Sink, err: Sink): number {
  let v: { 'office-id'?: string; out?: string };
  try {
    v = parseArgs({ args: argv, options: { 'office-id': { type: 'string' }, out: { type: 'string' } } }).values;
  } catch (e) {
    err.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (v['office-id'] === undefined || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(v['office-id']) || v.out === undefined) {
    err.write(`give --office-id (a device id) and --out\n${USAGE}\n`);
    return 2;
  }
  // A second key under the same file would orphan the registered one: refuse rather than overwrite.
  if (existsSync(v.out)) {
    err.write(`${v.out} exists; a credential office key is never overwritten\n`);
    return 2;
  }
  const key = generateCredentialOfficeKey(v['office-id']);
  writeFileSync(v.out, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  out.write(`${JSON.stringify({ officeId: key.officeId, address: key.address, file: v.out })}\n`);
  return 0;
}
