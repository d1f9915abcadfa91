/**
 * Benchmark (not part of `npm test`) of the monthly report's PDF and of the archive:
 *  1. reportPdf on a synthetic month (BENCH_SITES sites, every operation type, 31 days): ms per
 *     document and its size. No network.
 *  2. buildArchive over the whole channel as the regulator's peer has it (every transaction from
 *     1970 to now, so every permit's bundle), then verifyArchive on it: seconds, blocks, bundles,
 *     bytes, signatures checked. Needs the network (connection profile); skipped with BENCH_PARTS=pdf.
 * Prints Markdown for bench/RESULTS.md.
 *
 *   BENCH_SITES=200 BENCH_PDF_RUNS=20 npm run bench:report-archive -w gateway
 */
import * as os from 'node:os';
import { OPERATION_TYPES } from '@compliance-ledger/schema';
import { verifyArchive } from '@compliance-ledger/verifier';
import { archiveBytes, buildArchive } from '../src/archive.js';
import type { MonthlyReport } from '../src/regulator-repository.js';
import { monthWindow } from '../src/report-calendar.js';
import { reportPdf } from '../src/report-documents.js';
import { regulatorBlockSource } from '../test/support/blocks.js';

const SITES = Number(process.env.BENCH_SITES ?? 200);
const PDF_RUNS = Number(process.env.BENCH_PDF_RUNS ?? 20);
const PARTS = new Set((process.env.BENCH_PARTS ?? 'pdf,archive').split(','));

function syntheticReport(): MonthlyReport {
  const w = monthWindow('2026-11', 'Asia/Shanghai');
  const n = (i: number) => (i * 7919) % 97;
  return {
    month: w.month,
    timeZone: w.timeZone,
    scope: { org: null, site: null },
    window: { from: w.from, to: w.to },
    builtFrom: { blockNumber: 123_456, blockHeight: 123_457, headerHash: 'ab'.repeat(32) },
    permits: OPERATION_TYPES.flatMap((t, i) =>
      ['applied', 'active', 'closed', 'expired'].map((status, j) => ({ operationType: t, level: '1', status, count: n(i * 4 + j) })),
    ),
    permitsTotal: 0,
    gasTests: { total: 4000, failed: 37 },
    gateChecks: { total: 21000, failed: 112 },
    alarms: [1, 2, 3, 4].map((grade) => ({ grade, count: n(grade) * 3, averageResponseSeconds: 20 + grade })),
    alarmsTotal: 0,
    evidenceRecords: 5200,
    investigationFlags: 9,
    daily: w.days.map((d, i) => ({ date: d.date, permitsApplied: n(i), alarms: n(i + 3) % 20 })),
    sites: Array.from({ length: SITES }, (_, i) => ({ orgMsp: `Enterprise${i % 7}MSP`, siteId: `site-${i}`, permitsApplied: n(i), alarms: n(i + 1) % 9 })),
    kpis: {
      window: { from: w.from, to: w.to },
      averageAlarmResponseSeconds: 38.2,
      p90AlarmResponseSeconds: 95.5,
      alarms: 900,
      openAlarmsByGrade: [{ grade: 2, count: 3 }],
      alarmsResponded: 880,
      trainingCoverage: { activeWorkers: 5000, coveredWorkers: 4810, ratio: 0.962 },
      repeatViolationRate: { workUnitsWithViolations: 40, workUnitsWithRepeats: 6, ratio: 0.15 },
      repeatViolationTrend: [],
      byEnterprise: [],
      bySite: [],
      permitsByTypeAndState: [],
      overdueReviews: 12,
      certificatesExpiringWithin60Days: 140,
    },
  };
}

const lines: string[] = [];
if (PARTS.has('pdf')) {
  const report = syntheticReport();
  await reportPdf(report); // warm-up: fonts and modules load once
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < PDF_RUNS; i++) {
    const t0 = performance.now();
    bytes = (await reportPdf(report)).length;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  lines.push(
    `| reportPdf, ${SITES} sites, 31 days, ${PDF_RUNS} runs ` +
      `| median ${times[Math.floor(times.length / 2)]!.toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms | ${(bytes / 1024).toFixed(0)} KiB |`,
  );
}
if (PARTS.has('archive')) {
  const peer = regulatorBlockSource();
  try {
    const height = await peer.height();
    const source = { height: async () => height, block: peer.block };
    const t0 = performance.now();
    const streamed = await buildArchive({
      source,
      channel: peer.channel,
      chaincode: peer.chaincode,
      subject: { kind: 'range' },
      window: { from: '1970-01-01T00:00:00.000Z', to: new Date(Date.now() + 60_000).toISOString() },
      spoolDir: os.tmpdir(),
    });
    const built = { manifest: streamed.manifest, archive: await archiveBytes(streamed) };
    const buildSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const report = await verifyArchive(built.archive, { blockHash: built.manifest.checkpoint.headerHash });
    const verifySeconds = (performance.now() - t1) / 1000;
    if (!report.ok) throw new Error(`the archive did not verify: ${report.firstFailure?.id} ${report.firstFailure?.detail}`);
    lines.push(
      `| buildArchive, whole channel: ${height} blocks, ${built.manifest.transactions} transactions, ${built.manifest.files.length} bundles ` +
        `| ${buildSeconds.toFixed(1)} s | ${(built.archive.length / 1024 / 1024).toFixed(1)} MiB |`,
      `| verifyArchive of it (${report.signaturesVerified} signatures) | ${verifySeconds.toFixed(1)} s | |`,
    );
  } finally {
    peer.close();
  }
}
console.log('| what | time | size |\n|---|---|---|');
for (const l of lines) console.log(l);
