/**
 * Benchmark (not part of `npm test`): the memory of verifying a permit's bundle that carries a
 * large video, in headless Chromium, the two ways the library offers: the bundle as a Blob read by
 * slices (`verifyBundleBlob`, what the Verify panel does) and the bundle as bytes (`verifyBundle`,
 * what it did before). The bundle is the permit bundle that gateway/test/integration/
 * proof-bundle.test.ts keeps in $LEDGER_RUN_DIR/bundles (permit.tar, permit.trust), with
 * BENCH_VIDEO_MIB (default 512) MiB of video in place of its evidence file: that one check then
 * fails, after every byte of the video was hashed, and every other check passes. Page, verifier
 * and bundle are served from 127.0.0.1 (a secure context, so WebCrypto is there); each way runs in
 * a browser of its own while the resident memory of Chromium's processes is read from /proc every
 * 50 ms: the peak of the page's renderer, and of all Chromium's processes together.
 *
 *   BENCH_VIDEO_MIB=512 npm run bench:verify-memory -w @compliance-ledger/web
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTar, writeTar } from '@compliance-ledger/verifier';
import { launchChromium, verifierForBrowsers } from '../../gateway/test/support/browser.js';

const VIDEO_MIB = Number(process.env.BENCH_VIDEO_MIB ?? 512);
const kept = path.join(process.env.LEDGER_RUN_DIR ?? os.tmpdir(), 'bundles');

/** Resident memory of a process in MiB, from /proc; 0 once it is gone. */
function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Chromium's processes started by this one: every descendant, with whether it is a page's renderer. */
function chromiumProcesses(): { pid: number; renderer: boolean }[] {
  const parent = new Map<number, number>();
  const cmdline = new Map<number, string>();
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      cmdline.set(pid, fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    } catch {
      // Gone meanwhile.
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  return [...parent.keys()]
    .filter((pid) => descends(pid) && /chrom/i.test(cmdline.get(pid) ?? ''))
    .map((pid) => ({ pid, renderer: (cmdline.get(pid) ?? '').includes('--type=renderer') }));
}

async function main(): Promise<void> {
  const bundleFile = path.join(kept, 'permit.tar');
  if (!fs.existsSync(bundleFile)) throw new Error(`no ${bundleFile}: run gateway/test/integration/proof-bundle.test.ts first`);
  const trusted = fs.readFileSync(path.join(kept, 'permit.trust'), 'utf8').trim();
  const files = readTar(new Uint8Array(fs.readFileSync(bundleFile)));
  const evidence = [...files.keys()].filter((n) => n.startsWith('evidence/'));
  if (evidence.length !== 1) throw new Error(`the kept bundle has ${evidence.length} evidence files, not one`);
  const video = new Uint8Array(VIDEO_MIB * 2 ** 20);
  // Random content, so that nothing along the way (compression, deduplication) makes it cheaper.
  for (let at = 0; at < video.length; at += 2 ** 16) crypto.randomFillSync(video, at, Math.min(2 ** 16, video.length - at));
  files.set(evidence[0]!, video);
  const large = path.join(os.tmpdir(), `bench-bundle-${process.pid}.tar`);
  fs.writeFileSync(large, writeTar(files));
  files.clear();
  const bundleBytes = fs.statSync(large).size;

  const verifier = await verifierForBrowsers();
  const server = http.createServer((req, res) => {
    if (req.url === '/bundle.tar') {
      res.writeHead(200, { 'content-type': 'application/x-tar', 'content-length': bundleBytes });
      fs.createReadStream(large).pipe(res);
    } else if (req.url === '/verifier.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(verifier);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>verify</title><script src="/verifier.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const rows: string[] = [];
  try {
    for (const way of ['blob', 'bytes'] as const) {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(url);
        await page.waitForFunction(() => 'LedgerVerifier' in globalThis);
        const before = chromiumProcesses();
        const restRenderer = Math.max(...before.filter((p) => p.renderer).map((p) => rssMiB(p.pid)));
        const restAll = before.reduce((sum, p) => sum + rssMiB(p.pid), 0);
        // Peaks per phase: the download (into a Blob, or into bytes), then the checks.
        const peaks = { renderer: 0, all: 0 };
        const sampler = setInterval(() => {
          const now = chromiumProcesses();
          peaks.renderer = Math.max(peaks.renderer, ...now.filter((p) => p.renderer).map((p) => rssMiB(p.pid)));
          peaks.all = Math.max(
            peaks.all,
            now.reduce((sum, p) => sum + rssMiB(p.pid), 0),
          );
        }, 50);
        const downloadMs = await page.evaluate(async (w) => {
          const started = performance.now();
          const res = await fetch('/bundle.tar');
          (globalThis as unknown as { bundle: unknown }).bundle = w === 'blob' ? await res.blob() : new Uint8Array(await res.arrayBuffer());
          return performance.now() - started;
        }, way);
        const downloaded = { ...peaks };
        const result = await page.evaluate(
          async ({ way: w, trusted: h }) => {
            const g = globalThis as unknown as {
              bundle: unknown;
              LedgerVerifier: Record<string, (...a: unknown[]) => Promise<{ checks: { id: string; status: string }[] }>>;
            };
            const started = performance.now();
            const report = await g.LedgerVerifier[w === 'blob' ? 'verifyBundleBlob' : 'verifyBundle']!(g.bundle, { blockHash: h });
            return {
              ms: performance.now() - started,
              checks: report.checks.length,
              failed: report.checks.filter((c) => c.status === 'fail').map((c) => c.id),
            };
          },
          { way, trusted },
        );
        clearInterval(sampler);
        if (result.failed.length !== 1 || !result.failed[0]!.startsWith('evidence.'))
          throw new Error(`${way}: expected only the replaced evidence to fail, got ${result.failed.join(', ')}`);
        rows.push(
          `| ${way === 'blob' ? 'a Blob, read by slices (`verifyBundleBlob`)' : 'bytes (`verifyBundle`)'} | ${(downloadMs / 1000).toFixed(1)} / ` +
            `${(result.ms / 1000).toFixed(1)} | ${restRenderer.toFixed(0)} → ${downloaded.renderer.toFixed(0)} → **${peaks.renderer.toFixed(0)}** | ` +
            `${restAll.toFixed(0)} → ${downloaded.all.toFixed(0)} → ${peaks.all.toFixed(0)} | ${result.checks} |`,
        );
      } finally {
        await browser.close();
      }
    }
  } finally {
    server.close();
    fs.rmSync(large, { force: true });
  }
  console.log(`\nVerifying a permit bundle of ${(bundleBytes / 2 ** 20).toFixed(0)} MiB (${VIDEO_MIB} MiB of video) in headless Chromium:\n`);
  console.log(
    '| the bundle held as | download / checks, s | page renderer RSS, MiB: at rest → peak of the download → peak of both ' +
      '| all of Chromium, MiB (the same) | checks |',
  );
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

await main();
