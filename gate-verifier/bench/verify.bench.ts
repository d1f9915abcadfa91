/**
 * Offline gate verifications per second on one core, and the time from a scanned QR image to the
 * decision (QR read from the image with scanCode + signature check + rules; and, for comparison, jsQR on the full image). Figures go to bench/RESULTS.md.
 */
import * as os from 'node:os';
import { GATE_SNAPSHOT_FORMAT, type GateSnapshot } from '@compliance-ledger/schema';
import { Wallet } from 'ethers';
import jsQRImport from 'jsqr';
import { PNG } from 'pngjs';
import { decideAtGate, signWorkerCode, workerCodePng } from '../src/index.js';
import { scanCode } from '../src/scan.js';

// jsqr is CommonJS: its types declare a default export, at run time the function is the module.
const jsQR = ((jsQRImport as unknown as { default?: unknown }).default ?? jsQRImport) as typeof jsQRImport.default;

const now = Date.now();
const office = new Wallet(`0x${'55'.repeat(32)}`);
const worker = 'a1'.repeat(32);
const snapshot: GateSnapshot = {
  format: GATE_SNAPSHOT_FORMAT,
  channel: 'compliance',
  blockHeight: 1000,
  takenAt: now,
  signingKeys: [{ officeId: 'office-1', enterprise: 'EnterpriseMSP', address: office.address }],
  revocationEpochs: { [worker]: 2 },
  permit: {
    permitNo: 'HW-1',
    operationType: 'hot_work',
    level: '2',
    status: 'issued',
    plannedStart: now,
    plannedEnd: now + 4 * 3_600_000,
    workers: [worker],
    guardianId: 'c3'.repeat(32),
    workerCategories: ['welding_cutting'],
    guardianCategories: ['guardian'],
  },
};
const day = 86_400_000;
/** Distinct codes (each issued a millisecond apart): a first scan of each pays the full signature check. */
const issue = (i: number) =>
  signWorkerCode(office, {
    workerId: worker,
    enterprise: 'EnterpriseMSP',
    officeId: 'office-1',
    issuedAt: now + i,
    expiresAt: now + 30 * day,
    epoch: 2,
    certificates: [
      { certificateId: 'cert-weld-1', category: 'welding_cutting', validFrom: now - 365 * day, validUntil: now + 900 * day, reviewDue: now + 300 * day },
      { certificateId: 'cert-guard-1', category: 'guardian', validFrom: now - 365 * day, validUntil: now + 900 * day, reviewDue: now + 300 * day },
    ],
  });
const code = await issue(0);
const gate = { permitNo: 'HW-1', role: 'worker' as const, nowMs: now + 1000, maxSnapshotAgeMs: 15 * 60_000 };
if (!decideAtGate(code, snapshot, gate).pass) throw new Error('the benchmark code must pass');

/**
 * Decisions per second of wall-clock time and per second of this process's CPU time (user +
 * system): on a shared machine the process waits for a core, and the CPU-time rate is what one
 * core of its own would do.
 */
function rate(count: number, run: () => void): { wall: number; cpu: number } {
  const cpu0 = process.cpuUsage();
  const t = process.hrtime.bigint();
  run();
  const wallS = Number(process.hrtime.bigint() - t) / 1e9;
  const used = process.cpuUsage(cpu0);
  return { wall: count / wallS, cpu: count / ((used.user + used.system) / 1e6) };
}

const n = 3000;
const firstScans = await Promise.all(Array.from({ length: n }, (_, i) => issue(i + 1)));
const first = rate(n, () => {
  for (const c of firstScans) if (!decideAtGate(c, snapshot, gate).pass) throw new Error('a benchmark code must pass');
});
const repeat = rate(n, () => {
  for (let i = 0; i < n; i++) decideAtGate(firstScans[i % 300]!, snapshot, gate);
});

// Another code in each image, never scanned before: each figure includes the full signature check.
const images = await Promise.all(Array.from({ length: 100 }, async (_, i) => PNG.sync.read(await workerCodePng(await issue(n + 1 + i)))));
const img = images[0]!;
/** Scan to decision for each image, wall clock and CPU time (ms). */
function scanTimes(read: (image: PNG) => string | null): { samples: number[]; cpuSamples: number[] } {
  const samples: number[] = [];
  const cpuSamples: number[] = [];
  for (const image of images) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const text = read(image);
    if (text === null || !decideAtGate(text, snapshot, gate).pass) throw new Error('scan failed');
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const used = process.cpuUsage(cpu0);
    cpuSamples.push((used.user + used.system) / 1e3);
  }
  return { samples, cpuSamples };
}
// Before: jsQR on the full image, both polarities (its default). The decision caches are keyed by
// the code text, so each pass gets codes of its own (the first pass's would be repeat scans).
const fullFrame = scanTimes((image) => jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data ?? null);
images.splice(
  0,
  images.length,
  ...(await Promise.all(Array.from({ length: 100 }, async (_, i) => PNG.sync.read(await workerCodePng(await issue(n + 201 + i)))))),
);
const { samples, cpuSamples } = scanTimes((image) => scanCode(image));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!.toFixed(1);
console.log(`code: ${code.length} characters, QR ${img.width}x${img.height} px`);
const perS = (r: { wall: number; cpu: number }) => `${Math.round(r.cpu)}/s per CPU-second (${Math.round(r.wall)}/s wall clock)`;
console.log(
  `load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${os.cpus().length} cores`,
);
console.log(`offline verifications, first scan of each code: ${perS(first)} (${n} distinct codes)`);
console.log(`offline verifications, repeat scans (300 badges scanned 10 times each): ${perS(repeat)} (${n} decisions)`);
console.log(
  `scan to decision, jsQR on the full image (before), CPU time: p50 ${pct(fullFrame.cpuSamples, 0.5)} ms, p95 ${pct(fullFrame.cpuSamples, 0.95)} ms; ` +
    `wall clock: p50 ${pct(fullFrame.samples, 0.5)} ms, p95 ${pct(fullFrame.samples, 0.95)} ms`,
);
console.log(
  `scan to decision (scanCode + verify), CPU time: p50 ${pct(cpuSamples, 0.5)} ms, p95 ${pct(cpuSamples, 0.95)} ms; ` +
    `wall clock: p50 ${pct(samples, 0.5)} ms, p95 ${pct(samples, 0.95)} ms, max ${pct(samples, 0.999)} ms`,
);
