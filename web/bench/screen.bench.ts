/**
 * Benchmark (not part of `npm test`): the supervision screen's first screen with a large mirror.
 * BENCH_PERMITS synthetic permits (default 100,000) go into an indexer-migrated database; the
 * gateway serves the built screen from it; headless Chromium opens each view as a signed-in
 * regulator in a fresh browser context (cold cache) BENCH_RUNS times. Measured: from navigation to
 * the view's data on screen (the permit list and area plan; the KPI tiles; the live alarm stream
 * connected), p50 and max, and the bundle's bytes. Target from issue 16: first screen < 1 s on
 * localhost.
 *
 * Then the live alarms, each delay on its own: BENCH_SCREENS (default 50) plain event-stream
 * clients and BENCH_PAGES (default 3) Chromium pages on the live alarm view, against a gateway
 * whose mirror the real indexer keeps up with the network; BENCH_ALARMS alarms are recorded on the
 * ledger one after another (device-signed, as ingest does), and for each the time from its commit
 * to its row in the mirror, to its event on every stream, and to its row on every page is taken,
 * once with the stream polling the mirror and once woken by the indexer's NOTIFY (BENCH_MODES=poll
 * or LISTEN for one of them). Target from issue 16: within 1 s with 50 screens. BENCH_PARTS=first
 * or live runs one part. Needs the network and TEST_DATABASE_URL. Prints Markdown for bench/RESULTS.md.
 *
 * BENCH_VIEWER=enterprise opens the first screen as an enterprise's safety officer instead, whose
 * every query is limited to their own enterprise; BENCH_ENTERPRISES (default 1) spreads the
 * permits over that many enterprises, the first of them the viewer's (EnterpriseMSP).
 *
 *   BENCH_PERMITS=100000 BENCH_RUNS=20 BENCH_SCREENS=50 BENCH_PAGES=3 BENCH_ALARMS=10 npm run bench -w @compliance-ledger/web
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MIRROR_NOTIFY_CHANNEL } from '@compliance-ledger/schema';
import { Wallet } from 'ethers';
import pg from 'pg';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../gateway/test/support/browser.js';
import { recordDeviceAlarm } from '../../gateway/test/support/direct.js';
import { Client, chainHeight, createDatabase, dropDatabase, startTestGateway, token } from '../../gateway/test/support/env.js';
import { startIndexer, syntheticPermits } from '../../gateway/test/support/indexer.js';
import { makeCast, registerCast } from '../../gateway/test/support/scenario.js';
import { alarmFieldsFor } from '../../schema/test/support/alarm-fields.js';
import { Api } from '../src/api.js';
import { buildScreen } from '../tools/build.js';

const PERMITS = Number(process.env.BENCH_PERMITS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const SCREENS = Number(process.env.BENCH_SCREENS ?? 50);
const ALARMS = Number(process.env.BENCH_ALARMS ?? 10);
const PAGES = Number(process.env.BENCH_PAGES ?? 3);
const PARTS = (process.env.BENCH_PARTS ?? 'first,live').split(',');
const VIEWER = process.env.BENCH_VIEWER === 'enterprise' ? 'enterprise' : 'regulator';
const ENTERPRISES = Number(process.env.BENCH_ENTERPRISES ?? 1);

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function main(): Promise<void> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'web-bench-'));
  const { bytes } = await buildScreen(path.join(scratch, 'web'));
  const browser = await launchChromium();
  try {
    if (PARTS.includes('first')) await firstScreen(browser, path.join(scratch, 'web'), bytes);
    if (PARTS.includes('live')) await liveAlarms(browser, path.join(scratch, 'web'));
  } finally {
    await browser.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Cold loads of each view as a signed-in regulator (or BENCH_VIEWER) with BENCH_PERMITS permits in the mirror. */
async function firstScreen(browser: Browser, webDir: string, bytes: Record<string, number>): Promise<void> {
  const db = await createDatabase('gw_webbench');
  const total = await syntheticPermits(db, PERMITS, { orgs: ENTERPRISES });
  const own = await viewersEnterprise(db);
  const gw = await startTestGateway({ DATABASE_URL: db, GATEWAY_WEB_APP_DIR: webDir });
  const credential = await token(
    VIEWER === 'enterprise'
      ? { sub: 'bench-safety', org: 'enterprise', role: 'safety_officer' }
      : { sub: 'bench-regulator', org: 'regulator', role: 'regulator' },
  );
  try {
    const views: [string, string][] = [
      ['permits: list and area plan', 'main[data-view="permits"] tr[data-permit-no] >> nth=0'],
      ['KPIs: tiles', '[data-kpi="average-response"]'],
      ['live alarms: stream connected', '[data-testid="stream-state"]:has-text("实时连接")'],
    ];
    const who = VIEWER === 'enterprise' ? `an enterprise's safety officer (${own} of them theirs)` : 'the regulator';
    console.log(
      `## Supervision screen, first screen with ${total} permits of ${ENTERPRISES} enterprise(s) in the mirror, as ${who}, ` +
        `${RUNS} cold loads per view (load ${os.loadavg()[0]!.toFixed(1)})`,
    );
    console.log('');
    console.log(
      `Bundle: ${Object.entries(bytes)
        .map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} KiB`)
        .join(', ')}.`,
    );
    console.log('');
    console.log('| view | p50 ms | p95 ms | max ms | slowest API call per load, p50 ms | its p95 ms |');
    console.log('|---|---|---|---|---|---|');
    for (const [name, ready] of views) {
      const hash = name.startsWith('permits') ? 'permits' : name.startsWith('KPIs') ? 'kpis' : 'alarms';
      const times: number[] = [];
      const api: number[] = [];
      for (let i = 0; i < RUNS + 2; i++) {
        const context = await browser.newContext();
        // Signed in already (the token in this tab's sessionStorage, as after the sign-in form).
        await context.addInitScript((t: string) => sessionStorage.setItem('ledger.credential', t), credential);
        const page = await context.newPage();
        let slowest = 0;
        page.on('requestfinished', (r) => {
          if (r.url().includes('/v1/') && !r.url().includes('alarm-stream')) slowest = Math.max(slowest, r.timing().responseEnd);
        });
        const t0 = performance.now();
        await page.goto(`${gw.url}/app/#/${hash}`);
        await page.locator(ready).first().waitFor({ timeout: 30_000 });
        if (hash === 'permits') await page.locator('[data-area]').first().waitFor({ timeout: 30_000 });
        const ms = performance.now() - t0;
        // The first two warm the gateway's pool and query plans.
        if (i >= 2) {
          times.push(ms);
          api.push(slowest);
        }
        await context.close();
      }
      const cells = [pct(times, 50), pct(times, 95), Math.max(...times), pct(api, 50), pct(api, 95)].map((x) => x.toFixed(0));
      console.log(`| ${name} | ${cells.join(' | ')} |`);
    }
  } finally {
    await gw.close();
    await dropDatabase(db);
  }
}

/** The synthetic permits of the first enterprise become EnterpriseMSP's, the viewer's own; returns how many it has. */
async function viewersEnterprise(db: string): Promise<number> {
  const c = new pg.Client({ connectionString: db });
  await c.connect();
  try {
    if (ENTERPRISES > 1) {
      // The indexer's trigger moves the counters (permit_counts) with them.
      await c.query(`UPDATE permits SET org_msp = 'EnterpriseMSP' WHERE org_msp = 'E0MSP'`);
      await c.query('VACUUM ANALYZE permits');
    }
    return Number((await c.query(`SELECT count(*) FROM permits WHERE org_msp = 'EnterpriseMSP'`)).rows[0].count);
  } finally {
    await c.end();
  }
}

interface Mode {
  name: string;
  env: Record<string, string>;
}
/** The stream as it was (a poll of the mirror every 250 ms), and woken by the indexer's NOTIFY. */
const MODES: Mode[] = [
  { name: 'poll every 250 ms', env: { GATEWAY_ALARM_STREAM_LISTEN: '0', GATEWAY_ALARM_STREAM_POLL_MS: '250' } },
  { name: 'LISTEN/NOTIFY (+ 250 ms poll as safety net)', env: { GATEWAY_ALARM_STREAM_LISTEN: '1', GATEWAY_ALARM_STREAM_POLL_MS: '250' } },
].filter((m) => !process.env.BENCH_MODES || process.env.BENCH_MODES.split(',').some((x) => m.name.startsWith(x)));

/**
 * Records in the page, with the page's own clock (Date.now, the same host clock as the bench's),
 * when each alarm row first shows. A string, not a function: tsx's helpers would not exist in the page.
 */
const WATCH_ROWS = `(() => {
  const seen = {};
  globalThis.__alarmRowsSeen = seen;
  const mark = (el) => {
    const id = el.getAttribute('data-alarm-id');
    if (id && !(id in seen)) seen[id] = Date.now();
  };
  new MutationObserver((records) => {
    for (const r of records)
      for (const n of r.addedNodes) {
        if (!(n instanceof Element)) continue;
        if (n.matches('tr[data-alarm-id]')) mark(n);
        for (const row of n.querySelectorAll('tr[data-alarm-id]')) mark(row);
      }
  }).observe(document, { childList: true, subtree: true });
})();`;

/**
 * Live alarms, each delay on its own: per alarm, from its commit (the submit's return) to the row
 * in the indexer's mirror (the indexer's NOTIFY of its batch), to its event on each of BENCH_SCREENS plain
 * event-stream clients (the screen's own fetch reader), and to its row on each of BENCH_PAGES
 * Chromium pages (a MutationObserver in the page). Once per stream mode (MODES).
 */
async function liveAlarms(browser: Browser, webDir: string): Promise<void> {
  const db = await createDatabase('gw_webbench_live');
  const indexer = startIndexer(db);
  await indexer.waitForBlock((await chainHeight()) - 1, 300_000);
  // When each alarm reached the mirror: the indexer's NOTIFY after the batch that holds it (sent
  // whatever the gateway's mode), then a look for which alarms that batch brought.
  const mirror = new pg.Client({ connectionString: db });
  await mirror.connect();
  const inMirror = new Map<string, number>();
  mirror.on('notification', (note) => {
    const at = Date.now();
    void mirror.query("SELECT alarm_id FROM alarms WHERE block_number > $1 - 5 AND alarm_id LIKE 'bench-%'", [Number(note.payload)]).then((r) => {
      for (const row of r.rows as { alarm_id: string }[]) if (!inMirror.has(row.alarm_id)) inMirror.set(row.alarm_id, at);
    });
  });
  await mirror.query(`LISTEN ${MIRROR_NOTIFY_CHANNEL}`);
  let gw = await startTestGateway({ DATABASE_URL: db, GATEWAY_WEB_APP_DIR: webDir });
  try {
    const cast = await makeCast(new Client(gw.url));
    await registerCast(cast);
    const device = Wallet.createRandom();
    const deviceId = `cam-bench-${cast.tag}`;
    const r = await cast.clients.safety.post('/v1/devices', { deviceId, siteId: cast.siteId, areaId: 'zone-9', address: device.address, kind: 'camera' });
    if (r.status !== 201) throw new Error(`device: ${r.status} ${r.text}`);
    // The gate user's Fabric identity is enrolled on its first request.
    await cast.clients.gate.get(`/v1/devices/${deviceId}`);
    const walletDir = gw.services.config.GATEWAY_WALLET_DIR;
    await gw.close();
    const credential = await token({ sub: `gw-regulator-${cast.tag}`, org: 'regulator', role: 'regulator' });
    let n = 0;
    for (const mode of MODES) {
      gw = await startTestGateway({ DATABASE_URL: db, GATEWAY_WEB_APP_DIR: webDir, GATEWAY_WALLET_DIR: walletDir, ...mode.env });
      const abort = new AbortController();
      const clients = Array.from({ length: SCREENS }, () => new Map<string, number>());
      const connected = clients.map(
        (seen) =>
          new Promise<void>((resolve, reject) => {
            new Api(credential)
              .stream(
                `${gw.url}/v1/alarm-stream`,
                (event, data) => {
                  if (event === 'snapshot') resolve();
                  for (const a of (data as { alarms: { alarmId: string }[] }).alarms) if (!seen.has(a.alarmId)) seen.set(a.alarmId, Date.now());
                },
                abort.signal,
              )
              .catch((e: unknown) => (abort.signal.aborted ? undefined : reject(e)));
          }),
      );
      await Promise.all(connected);
      const pages = [];
      for (let i = 0; i < PAGES; i++) {
        const context = await browser.newContext();
        await context.addInitScript((t: string) => sessionStorage.setItem('ledger.credential', t), credential);
        await context.addInitScript({ content: WATCH_ROWS });
        const page = await context.newPage();
        await page.goto(`${gw.url}/app/#/alarms`);
        await page.locator('[data-testid="stream-state"]:has-text("实时连接")').waitFor({ timeout: 60_000 });
        pages.push(page);
      }
      const load = os.loadavg()[0]!.toFixed(1);
      const mirrored: number[] = [];
      const streamed: number[] = [];
      const shown: number[] = [];
      const mirrorToStream: number[] = [];
      for (let k = 0; k < ALARMS; k++, n++) {
        const alarmId = `bench-${cast.tag}-${n}`;
        const alarm = alarmFieldsFor(deviceId, cast.siteId, 'zone-9', { alarmId, kind: 'gas_leak', observedAt: Date.now() - 2000 });
        await recordDeviceAlarm(walletDir, `gw-gate-${cast.tag}`, device, alarm);
        const committed = Date.now();
        const until = committed + 60_000;
        for (;;) {
          const mirroredAt = inMirror.get(alarmId);
          const onPages = await Promise.all(
            pages.map((p) => p.evaluate((id) => (globalThis as unknown as { __alarmRowsSeen: Record<string, number> }).__alarmRowsSeen[id] ?? null, alarmId)),
          );
          if (mirroredAt !== undefined && clients.every((c) => c.has(alarmId)) && onPages.every((t) => t !== null)) {
            mirrored.push(mirroredAt - committed);
            for (const c of clients) {
              streamed.push(c.get(alarmId)! - committed);
              mirrorToStream.push(c.get(alarmId)! - mirroredAt);
            }
            for (const t of onPages) shown.push(t! - committed);
            break;
          }
          if (Date.now() > until) {
            const streams = clients.filter((c) => c.has(alarmId)).length;
            const where = `mirror ${mirroredAt !== undefined}, streams ${streams}/${SCREENS}, pages ${onPages.filter((x) => x !== null).length}/${PAGES}`;
            throw new Error(`alarm ${alarmId} not everywhere within 60 s (${mode.name}): ${where}`);
          }
          await new Promise((res) => setTimeout(res, 50));
        }
        // Alarms one after another, as a plant's would come: the next one after this one is everywhere.
        await new Promise((res) => setTimeout(res, 500));
      }
      abort.abort();
      for (const p of pages) await p.context().close();
      await gw.close();
      const row = (name: string, xs: number[]) =>
        xs.length > 0 && console.log(`| ${name} | ${xs.length} | ${pct(xs, 50).toFixed(0)} | ${pct(xs, 90).toFixed(0)} | ${Math.max(...xs).toFixed(0)} |`);
      console.log('');
      console.log(`## Live alarms, stream: ${mode.name}; ${SCREENS} event-stream clients + ${PAGES} Chromium pages, ${ALARMS} alarms (load ${load} at start)`);
      console.log('');
      console.log('| from the commit to | samples | p50 ms | p90 ms | max ms |');
      console.log('|---|---|---|---|---|');
      row('the row in the mirror (indexer)', mirrored);
      row(`the event on each stream client (${SCREENS})`, streamed);
      row(`the row on each Chromium page (${PAGES})`, shown);
      row('(mirror → stream event: the gateway)', mirrorToStream);
    }
  } finally {
    await gw.close().catch(() => undefined);
    await mirror.end();
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
