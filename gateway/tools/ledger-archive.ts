/**
 * Command line for regulators and auditors who keep the six-year archive (README "Archive"):
 *
 *   ledger-archive.ts export --gateway <url> --token-file <jwt file> (--month YYYY-MM | --from <ISO> --to <ISO>) --out <archive.tar>
 *       fetches GET /v1/audit/archive from the regulator's gateway and writes the file; prints the
 *       checkpoint block and hash every bundle in it ends at (compare with your own peer's)
 *
 * Verifying needs no gateway and no network: `npx ledger-verify archive import <archive.tar> <dir>`
 * then `npx ledger-verify archive verify <dir> --trust <hash>`. Run with `npx tsx gateway/tools/ledger-archive.ts …`.
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';

const usage =
  'usage: ledger-archive.ts export --gateway <url> --token-file <jwt file> (--month YYYY-MM | --from <ISO-8601> --to <ISO-8601>) --out <archive.tar>';
const [command, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    gateway: { type: 'string' },
    'token-file': { type: 'string' },
    month: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    out: { type: 'string' },
  },
});

function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(code);
}

if (command !== 'export') fail(command ? `unknown command ${command}` : 'no command');
const { gateway, 'token-file': tokenFile, month, from, to, out } = values;
if (!gateway || !tokenFile || !out) fail('--gateway, --token-file and --out are required');
if (month ? from !== undefined || to !== undefined : !(from && to)) fail('give --month, or --from and --to');
const query = new URLSearchParams(month ? { month } : { from: from!, to: to! });
const res = await fetch(`${gateway.replace(/\/$/, '')}/v1/audit/archive?${query}`, {
  headers: { authorization: `Bearer ${fs.readFileSync(tokenFile, 'utf8').trim()}` },
});
const bytes = new Uint8Array(await res.arrayBuffer());
if (!res.ok) fail(`the gateway answered ${res.status}: ${new TextDecoder().decode(bytes)}`, 1);
fs.writeFileSync(out, bytes);
process.stdout.write(
  `wrote ${out} (${bytes.length} bytes); ` +
    `checkpoint block ${res.headers.get('x-archive-checkpoint-block')} hash ${res.headers.get('x-archive-checkpoint-hash')}\n`,
);
