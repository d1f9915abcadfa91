/**
 * Benchmark (not part of `npm test`): video evidence through the gateway.
 *  1. Upload throughput of one 1 GiB file with tus (one PATCH, loopback), until the gateway has
 *     stored it and evidence:Record is committed; download throughput of the same file (GET
 *     /content), and of a 16 MiB range in its middle. Against a gateway process of its own, as
 *     `npm start` runs it, with the embedded blockstore, and with kubo (when built).
 *     Then the archive of the minutes the upload was committed in (GET /v1/audit/archive, an
 *     auditor): the permit's trail bundle carries the clip, which the gateway spools to disk and
 *     streams; its download time, size, and the gateway's peak RSS during it alone (VmHWM reset
 *     through /proc/<pid>/clear_refs, which needs root; otherwise the peak since start). The
 *     archive is saved, and the auditor's CLI verifies it offline (`ledger-verify archive verify`,
 *     its own checkpoint as the anchor): its time and peak RSS (GNU time's %M). BENCH_VERIFIER_CLI
 *     names another build of the CLI, to compare with. Then the permit's own proof bundle (GET
 *     /v1/audit/permits/{permitNo}/bundle), which carries the clip too: time and gateway peak RSS.
 *  2. The regulator's node pinning a 100 MiB clip held by the enterprise's node (two peered kubo
 *     daemons on loopback): the time of `pin add` on the regulator's node, as the indexer's pinner
 *     calls it, until every block is on the regulator's disk.
 * Needs the network (connection profile) and TEST_DATABASE_URL. Prints Markdown for bench/RESULTS.md.
 *
 *   BENCH_UPLOAD_MIB=1024 BENCH_PIN_MIB=100 npm run bench:evidence -w gateway
 */

import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KuboPins } from '../../indexer/src/evidence-pinner.js';
import { Client, createDatabase, dropDatabase, startTestGateway } from '../test/support/env.js';
import { startGatewayProcess } from '../test/support/gateway-process.js';
import { type Kubo, kuboBinary, startKubo } from '../test/support/kubo.js';
import { castWithPermit, iso } from '../test/support/scenario.js';
import { createUpload, MP4_HEAD, mediaStream, patch, uploadMetadata } from '../test/support/tus.js';

const MiB = 1024 * 1024;
const UPLOAD_BYTES = Number(process.env.BENCH_UPLOAD_MIB ?? 1024) * MiB;
const PIN_BYTES = Number(process.env.BENCH_PIN_MIB ?? 100) * MiB;

const rate = (bytes: number, ms: number) => `${(bytes / MiB / (ms / 1000)).toFixed(0)} MiB/s (${(ms / 1000).toFixed(1)} s)`;

async function drain(res: Response, file?: string): Promise<number> {
  let n = 0;
  const out = file ? fs.openSync(file, 'w') : undefined;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (out !== undefined) fs.writeSync(out, chunk);
      n += chunk.length;
    }
  } finally {
    if (out !== undefined) fs.closeSync(out);
  }
  return n;
}

const VERIFIER_CLI = process.env.BENCH_VERIFIER_CLI ?? path.resolve(import.meta.dirname, '../../verifier/bin/ledger-verify.mjs');

/** The auditor's offline check of a saved archive: its verdict, time and peak RSS. */
function verifyOffline(file: string): string {
  const r = spawnSync('/usr/bin/time', ['-f', 'peak %M KiB, %e s', process.execPath, VERIFIER_CLI, 'archive', 'verify', file], { encoding: 'utf8' });
  const verdict = /^(VERIFIED|NOT VERIFIED): .*$/m.exec(r.stdout)?.[0] ?? `exit ${r.status}: ${r.stderr.slice(-300)}`;
  const m = /peak (\d+) KiB, ([\d.]+) s/.exec(r.stderr);
  if (!m) throw new Error(`no figures from /usr/bin/time: ${r.stderr.slice(-300)}`);
  return `${(Number(m[1]) / 1024).toFixed(0)} MiB, ${Number(m[2]).toFixed(1)} s (${verdict.replace(/;.*/, '')})`;
}

/** Resets the process's peak RSS (VmHWM) to its current RSS, so that the next peak is one step's; false when not allowed. */
function resetPeakRss(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

async function transfer(label: string, env: Record<string, string>, setup: { auth: string; auditorAuth: string; permitNo: string }): Promise<string> {
  const gw = await startGatewayProcess(env);
  try {
    const seed = `bench-${label}-${Date.now()}`;
    const meta = uploadMetadata({
      permitNo: setup.permitNo,
      step: 'execution',
      capturedAt: iso(Date.now() - 60_000),
      filetype: 'video/mp4',
      filename: 'bench.mp4',
    });
    const from = iso(Date.now() - 1_000);
    const created = await createUpload(gw.url, setup.auth, UPLOAD_BYTES, meta);
    if (created.status !== 201) throw new Error(`create: ${created.status} ${created.text}`);
    const t0 = performance.now();
    const done = await patch(gw.url, created.location, setup.auth, 0, mediaStream(seed, MP4_HEAD, UPLOAD_BYTES));
    const uploadMs = performance.now() - t0;
    if (done.status !== 204) throw new Error(`upload: ${done.status} ${done.body}`);
    const cid = String(done.headers['evidence-cid']);
    const url = `${gw.url}/v1/permits/${setup.permitNo}/evidence/${cid}/content`;
    const t1 = performance.now();
    const whole = await drain(await fetch(url, { headers: { authorization: setup.auth } }));
    const downloadMs = performance.now() - t1;
    if (whole !== UPLOAD_BYTES) throw new Error(`download gave ${whole} bytes`);
    const middle = Math.floor(UPLOAD_BYTES / 2);
    const t2 = performance.now();
    const part = await drain(await fetch(url, { headers: { authorization: setup.auth, range: `bytes=${middle}-${middle + 16 * MiB - 1}` } }));
    const rangeMs = performance.now() - t2;
    const { peakRss } = gw.memory();
    const reset = resetPeakRss(gw.pid);
    const window = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(iso(Date.now() + 1_000))}`;
    const t3 = performance.now();
    let archiveFigures = '';
    const archive = await fetch(`${gw.url}/v1/audit/archive?${window}`, { headers: { authorization: setup.auditorAuth } });
    if (archive.status !== 200) throw new Error(`archive: ${archive.status} ${await archive.text()}`);
    const saved = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-archive-')), 'archive.tar');
    let offline: string;
    try {
      const archiveBytes = await drain(archive, saved);
      const archiveMs = performance.now() - t3;
      if (archiveBytes < UPLOAD_BYTES) throw new Error(`the archive (${archiveBytes} bytes) does not hold the clip`);
      archiveFigures = `${(archiveBytes / MiB).toFixed(0)} MiB in ${rate(archiveBytes, archiveMs)}`;
      offline = verifyOffline(saved);
    } finally {
      fs.rmSync(path.dirname(saved), { recursive: true, force: true });
    }
    const archivePeak = gw.memory().peakRss;
    // The permit's own proof bundle, which carries the clip too (GET /v1/audit/permits/{permitNo}/bundle).
    resetPeakRss(gw.pid);
    const t4 = performance.now();
    const bundle = await fetch(`${gw.url}/v1/audit/permits/${setup.permitNo}/bundle`, { headers: { authorization: setup.auditorAuth } });
    if (bundle.status !== 200) throw new Error(`bundle: ${bundle.status} ${await bundle.text()}`);
    const bundleBytes = await drain(bundle);
    const bundleMs = performance.now() - t4;
    if (bundleBytes < UPLOAD_BYTES) throw new Error(`the bundle (${bundleBytes} bytes) does not hold the clip`);
    const bundlePeak = gw.memory().peakRss;
    return (
      `| ${label} | ${UPLOAD_BYTES / MiB} MiB | ${rate(UPLOAD_BYTES, uploadMs)}` +
      `| ${rate(whole, downloadMs)} | ${rate(part, rangeMs)} | ${(peakRss / MiB).toFixed(0)} MiB ` +
      `| ${archiveFigures} | ${(archivePeak / MiB).toFixed(0)} MiB${reset ? '' : ' (since start)'} | ${offline} ` +
      `| ${(bundleBytes / MiB).toFixed(0)} MiB in ${rate(bundleBytes, bundleMs)} | ${(bundlePeak / MiB).toFixed(0)} MiB |`
    );
  } finally {
    await gw.stop();
  }
}

async function pinning(bin: string): Promise<string> {
  let enterprise: Kubo | undefined;
  let regulator: Kubo | undefined;
  try {
    enterprise = await startKubo(bin, { online: true });
    regulator = await startKubo(bin, { online: true });
    regulator.cli(['swarm', 'connect', enterprise.swarmAddress]);
    const bytes = Buffer.concat([MP4_HEAD, crypto.randomBytes(PIN_BYTES - MP4_HEAD.length)]);
    const form = new FormData();
    form.set('file', new Blob([bytes]), 'clip.mp4');
    const added = await fetch(`${enterprise.apiUrl}/api/v0/add?cid-version=1&raw-leaves=true&chunker=size-262144&pin=true&quieter=true`, {
      method: 'POST',
      body: form,
    });
    const cid = (JSON.parse(await added.text()) as { Hash: string }).Hash;
    const t0 = performance.now();
    await new KuboPins(regulator.apiUrl).add(cid, 600_000);
    const ms = performance.now() - t0;
    return (
      `| pin a ${PIN_BYTES / MiB} MiB clip on the regulator's node, fetched from the enterprise's node ` +
      `| ${(ms / 1000).toFixed(2)} s (${rate(PIN_BYTES, ms)}) |`
    );
  } finally {
    await enterprise?.stop();
    await regulator?.stop();
  }
}

const db = await createDatabase('bench_video');
const setupGateway = await startTestGateway({ DATABASE_URL: db });
const bin = kuboBinary();
const lines: string[] = [];
try {
  const { cast, permitNo } = await castWithPermit(new Client(setupGateway.url));
  const setup = { auth: cast.clients.applicant.auth.authorization!, auditorAuth: cast.clients.auditor.auth.authorization!, permitNo };
  lines.push(
    '| content store | file | upload (tus, until committed) | download | 16 MiB range | gateway peak RSS ' +
      "| archive of the upload's minutes | gateway peak RSS during it | the CLI's offline check: peak RSS, time " +
      "| the permit's bundle | gateway peak RSS during it |",
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  lines.push(await transfer('embedded blockstore', {}, setup));
  if (bin) {
    const kubo = await startKubo(bin);
    try {
      lines.push(await transfer('kubo', { IPFS_API_URL: kubo.apiUrl }, setup));
    } finally {
      await kubo.stop();
    }
    lines.push('', '| figure | value |', '|---|---|', await pinning(bin));
  } else lines.push('', 'kubo is not built (scripts/install-kubo.sh): kubo mode and pinning not measured');
} finally {
  await setupGateway.close();
  await dropDatabase(db);
}
console.log(lines.join('\n'));
