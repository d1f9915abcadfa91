/**
 * Time to verify a proof bundle, warm, on one core, and signatures verified per second.
 *   node --import tsx bench/verify.bench.ts <bundle.tar> <trusted block hash> [runs=50]
 * The bundle comes from the gateway's builder (e.g. the permit bundle of
 * gateway/test/integration/proof-bundle.test.ts, which writes it to $LEDGER_RUN_DIR/bundles/).
 */
import * as fs from 'node:fs';
import { verifyBundle } from '../src/index.js';

const [file, trust, runsArg] = process.argv.slice(2);
if (!file || !trust) {
  console.error('usage: verify.bench.ts <bundle.tar> <trusted block hash> [runs]');
  process.exit(2);
}
const archive = new Uint8Array(fs.readFileSync(file));
const runs = Number(runsArg ?? 50);
const first = await verifyBundle(archive, { blockHash: trust });
if (!first.ok) throw new Error(`the bundle does not verify: ${first.firstFailure?.id} ${first.firstFailure?.detail}`);
for (let i = 0; i < 5; i++) await verifyBundle(archive, { blockHash: trust });
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  await verifyBundle(archive, { blockHash: trust });
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
const manifest = JSON.parse(new TextDecoder().decode(archive.subarray(512, 512 + 200000)).split('\0')[0]!) as { transactions: unknown[]; blocks: unknown[] };
console.log(
  JSON.stringify({
    bundleBytes: archive.length,
    transactions: manifest.transactions.length,
    fullBlocks: manifest.blocks.length,
    checks: first.checks.length,
    ecdsaSignaturesPerRun: first.signaturesVerified,
    medianMs: Number(median.toFixed(2)),
    p90Ms: Number(times[Math.floor(times.length * 0.9)]!.toFixed(2)),
    signaturesPerSecond: Math.round(first.signaturesVerified / (median / 1000)),
  }),
);
