/**
 * Benchmark (not part of `npm test`): the month archive as a regulator fetches it, `GET
 * /v1/audit/archive?month=<this month in Asia/Shanghai>`, from a gateway process of its own (as
 * `npm start` runs it), twice: cold (the gateway summarizes every block first) and warm (the block
 * summaries cached, as after the first request). Reports the archive's bytes and files, seconds,
 * the gateway's resident memory before, and its peak (VmHWM) after each request, then verifies the
 * archive (verifyArchive, in this process) and reports seconds and signatures checked.
 * Needs the network (connection profile) with transactions this month, and TEST_DATABASE_URL.
 *
 *   npx tsx bench/month-archive.bench.ts      (from gateway/)
 */
import { readTar, verifyArchive } from '@compliance-ledger/verifier';
import { monthOf } from '../src/report-calendar.js';
import { regulatorBlockSource } from '../test/support/blocks.js';
import { Client, token } from '../test/support/env.js';
import { startGatewayProcess } from '../test/support/gateway-process.js';

const MiB = 1024 * 1024;
const month = monthOf(Date.now(), 'Asia/Shanghai');
const peer = regulatorBlockSource();
const height = await peer.height();
peer.close();
const gw = await startGatewayProcess();
const rows: string[] = [];
let archive: Uint8Array | undefined;
try {
  const auditor = new Client(gw.url).as(await token({ sub: `bench-auditor-${Date.now()}`, org: 'regulator', role: 'auditor' }));
  const atRest = gw.memory().rss;
  for (const run of ['cold', 'warm']) {
    const t0 = performance.now();
    const r = await auditor.download(`/v1/audit/archive?month=${month}`);
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 200) throw new Error(`${run}: ${r.status} ${r.text}`);
    archive = r.bytes;
    const files = readTar(r.bytes);
    const m = JSON.parse(new TextDecoder().decode(files.get('manifest.json')!)) as { version: number; files: { kind: string }[]; transactions: number };
    const bundles = m.files.filter((f) => f.kind === 'range' || f.kind === 'permit').length;
    rows.push(
      `| ${run} | v${m.version} | ${height} | ${m.transactions} | ${bundles} | ${files.size} ` +
        `| ${(r.bytes.length / MiB).toFixed(1)} MiB | ${seconds.toFixed(1)} s ` +
        `| ${(atRest / MiB).toFixed(0)} → peak ${(gw.memory().peakRss / MiB).toFixed(0)} MiB |`,
    );
  }
} finally {
  await gw.stop();
}
const t1 = performance.now();
const report = await verifyArchive(archive!);
const verifySeconds = (performance.now() - t1) / 1000;
if (!report.ok) throw new Error(`the archive did not verify: ${report.firstFailure?.id} ${report.firstFailure?.detail}`);
console.log(`month ${month} (Asia/Shanghai)`);
console.log('| request | format | chain height | transactions | bundles | files in tar | archive | seconds | gateway RSS at rest → peak |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`verifyArchive of it: ${verifySeconds.toFixed(1)} s, ${report.signaturesVerified} signatures, ${report.checks.length} checks, all passed`);
