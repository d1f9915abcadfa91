/**
 * Offline gate verifications per second on one core, and the time from a scanned QR image to the
 * decision (image decode with jsQR + signature recovery + rules). Figures go to bench/RESULTS.md.
 */
import { GATE_SNAPSHOT_FORMAT, type GateSnapshot } from '@compliance-ledger/schema';
import { Wallet } from 'ethers';
import jsQRImport from 'jsqr';
import { PNG } from 'pngjs';
import { decideAtGate, signWorkerCode, workerCodePng } from '../src/index.js';

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

const n = 3000;
const firstScans = await Promise.all(Array.from({ length: n }, (_, i) => issue(i + 1)));
let t0 = process.hrtime.bigint();
for (const c of firstScans) if (!decideAtGate(c, snapshot, gate).pass) throw new Error('a benchmark code must pass');
const firstPerSecond = n / (Number(process.hrtime.bigint() - t0) / 1e9);

t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) decideAtGate(firstScans[i % 300]!, snapshot, gate);
const perSecond = n / (Number(process.hrtime.bigint() - t0) / 1e9);

// Another code in each image, never scanned before: each figure includes the full signature check.
const images = await Promise.all(Array.from({ length: 100 }, async (_, i) => PNG.sync.read(await workerCodePng(await issue(n + 1 + i)))));
const img = images[0]!;
const samples: number[] = [];
for (const image of images) {
  t0 = process.hrtime.bigint();
  const read = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
  if (read === null || !decideAtGate(read.data, snapshot, gate).pass) throw new Error('scan failed');
  samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
samples.sort((a, b) => a - b);
const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!.toFixed(1);
console.log(`code: ${code.length} characters, QR ${img.width}x${img.height} px`);
console.log(`offline verifications, first scan of each code: ${Math.round(firstPerSecond)}/s on one core (${n} distinct codes)`);
console.log(`offline verifications, repeat scans (300 badges scanned 10 times each): ${Math.round(perSecond)}/s on one core (${n} decisions)`);
console.log(`scan to decision (PNG decode + verify): p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${pct(0.999)} ms`);
