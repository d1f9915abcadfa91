import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { GateRole, GateSnapshot } from '@compliance-ledger/schema';
import { decideAtGate } from './verify.js';

const USAGE = `gate-verify --snapshot FILE --permit PERMIT_NO [--role worker|guardian] [--max-age-ms MS] (--code TEXT | --code-file FILE)

Decides offline whether a worker code admits its holder at the gate of a permit. Prints the decision
as JSON; exit code 0 pass, 1 refuse, 2 bad usage. The code text is what a QR scanner reads
(zbarimg --raw -q badge.png).`;

interface Sink {
  write(text: string): unknown;
}

export async function main(argv: string[], out: Sink = process.stdout, err: Sink = process.stderr, nowMs = Date.now()): Promise<number> {
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
