/**
 * Benchmark (not part of `npm test`): the supervision screen's first screen with a large mirror.
 * BENCH_PERMITS synthetic permits (default 100,000) go into an indexer-migrated database; the
 * gateway serves the built screen from it; headless Chromium opens each view as a signed-in
 * regulator in a fresh browser context (cold cache) BENCH_RUNS times. Measured: from navigation to
 * the view's data on screen (the permit list and area plan; the KPI tiles; the live alarm stream
 * connected), p50 and max, and the bundle's bytes. Target from issue 16: first screen < 1 s on
 * localhost.
 *
 * Then the live alarms: BENCH_SCREENS pages (default 50) open the live alarm view as regulators
 * against a gateway whose mirror the real indexer keeps up with the network; BENCH_ALARMS alarms
 * are recorded on the ledger one after another (device-signed, as ingest does), and for each the
 * time from its commit to its row on every screen is taken. Target from issue 16: within 1 s with
 * 50 screens. Needs the network and TEST_DATABASE_URL. Prints Markdown for bench/RESULTS.md.
 *
 *   BENCH_PERMITS=100000 BENCH_RUNS=20 BENCH_SCREENS=50 BENCH_ALARMS=5 npm run bench -w @compliance-ledger/web
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Wallet } from 'ethers';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../gateway/test/support/browser.js';
import { recordDeviceAlarm } from '../../gateway/test/support/direct.js';
import { Client, chainHeight, createDatabase, dropDatabase, startTestGateway, token } from '../../gateway/test/support/env.js';
import { startIndexer, syntheticPermits } from '../../gateway/test/support/indexer.js';
import { makeCast, registerCast } from '../../gateway/test/support/scenario.js';
import { alarmFieldsFor } from '../../schema/test/support/alarm-fields.js';
import { buildScreen } from '../tools/build.js';

const PERMITS = Number(process.env.BENCH_PERMITS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const SCREENS = Number(process.env.BENCH_SCREENS ?? 50);
const ALARMS = Number(process.env.BENCH_ALARMS ?? 5);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function main(): Promise<void> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'web-bench-'));
  const { bytes } = await buildScreen(path.join(scratch, 'web'));
  const db = await createDatabase('gw_webbench');
  const total = await syntheticPermits(db, PERMITS);
  const gw = await startTestGateway({ DATABASE_URL: db, GATEWAY_WEB_APP_DIR: path.join(scratch, 'web') });
  const browser = await launchChromium();
  const credential = await token({ sub: 'bench-regulator', org: 'regulator', role: 'regulator' });
  try {
    const views: [string, string][] = [
      ['permits: list and area plan', 'main[data-view="permits"] tr[data-permit-no] >> nth=0'],
      ['KPIs: tiles', '[data-kpi="average-response"]'],
      ['live alarms: stream connected', '[data-testid="stream-state"]:has-text("实时连接")'],
    ];
    console.log(`## Supervision screen, first screen with ${total} permits in the mirror, ${RUNS} cold loads per view`);
    console.log('');
    console.log(
      `Bundle: ${Object.entries(bytes)
        .map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} KiB`)
        .join(', ')}.`,
    );
    console.log('');
    console.log('| view | p50 ms | max ms |');
    console.log('|---|---|---|');
    for (const [name, ready] of views) {
      const hash = name.startsWith('permits') ? 'permits' : name.startsWith('KPIs') ? 'kpis' : 'alarms';
      const times: number[] = [];
      for (let i = 0; i < RUNS + 2; i++) {
        const context = await browser.newContext();
        // Signed in already (the token in this tab's sessionStorage, as after the sign-in form).
        await context.addInitScript((t: string) => sessionStorage.setItem('ledger.credential', t), credential);
        const page = await context.newPage();
        const t0 = performance.now();
        await page.goto(`${gw.url}/app/#/${hash}`);
        await page.locator(ready).first().waitFor({ timeout: 30_000 });
        if (hash === 'permits') await page.locator('[data-area]').first().waitFor({ timeout: 30_000 });
        const ms = performance.now() - t0;
        if (i >= 2) times.push(ms); // the first two warm the gateway's pool and query plans
        await context.close();
      }
      console.log(`| ${name} | ${pct(times, 50).toFixed(0)} | ${Math.max(...times).toFixed(0)} |`);
    }
  } finally {
    await gw.close();
    await dropDatabase(db);
  }
  try {
    await liveAlarms(browser, path.join(scratch, 'web'));
  } finally {
    await browser.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** BENCH_SCREENS regulator screens on the live alarms; per alarm, commit to row on every screen. */
async function liveAlarms(browser: Browser, webDir: string): Promise<void> {
  const db = await createDatabase('gw_webbench_live');
  const indexer = startIndexer(db);
  await indexer.waitForBlock((await chainHeight()) - 1, 300_000);
  const gw = await startTestGateway({ DATABASE_URL: db, GATEWAY_WEB_APP_DIR: webDir });
  try {
    const cast = await makeCast(new Client(gw.url));
    await registerCast(cast);
    const device = Wallet.createRandom();
    const deviceId = `cam-bench-${cast.tag}`;
    const r = await cast.clients.safety.post('/v1/devices', { deviceId, siteId: cast.siteId, areaId: 'zone-9', address: device.address, kind: 'camera' });
    if (r.status !== 201) throw new Error(`device: ${r.status} ${r.text}`);
    // The gate user's Fabric identity is enrolled on its first request.
    await cast.clients.gate.get(`/v1/devices/${deviceId}`);
    const credential = await token({ sub: `gw-regulator-${cast.tag}`, org: 'regulator', role: 'regulator' });
    const pages = [];
    for (let i = 0; i < SCREENS; i++) {
      const context = await browser.newContext();
      await context.addInitScript((t: string) => sessionStorage.setItem('ledger.credential', t), credential);
      const page = await context.newPage();
      await page.goto(`${gw.url}/app/#/alarms`);
      await page.locator('[data-testid="stream-state"]:has-text("实时连接")').waitFor({ timeout: 60_000 });
      pages.push(page);
    }
    const lat: number[] = [];
    for (let k = 0; k < ALARMS; k++) {
      const alarmId = `bench-${cast.tag}-${k}`;
      const arrived = pages.map((p) =>
        p
          .locator(`tr[data-alarm-id="${alarmId}"]`)
          .waitFor({ timeout: 60_000 })
          .then(() => performance.now()),
      );
      const alarm = alarmFieldsFor(deviceId, cast.siteId, 'zone-9', { alarmId, kind: 'gas_leak', observedAt: Date.now() - 2000 });
      await recordDeviceAlarm(gw.services.config.GATEWAY_WALLET_DIR, `gw-gate-${cast.tag}`, device, alarm);
      const committed = performance.now();
      for (const t of await Promise.all(arrived)) lat.push(Math.max(0, t - committed));
    }
    console.log('');
    console.log(`## Live alarms on ${SCREENS} open screens (one Chromium, one context each), ${ALARMS} alarms, commit to row on screen`);
    console.log('');
    console.log('| screens × alarms | p50 ms | p90 ms | max ms |');
    console.log('|---|---|---|---|');
    console.log(`| ${SCREENS} × ${ALARMS} | ${pct(lat, 50).toFixed(0)} | ${pct(lat, 90).toFixed(0)} | ${Math.max(...lat).toFixed(0)} |`);
  } finally {
    await gw.close();
    await indexer.stop();
    await dropDatabase(db);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
