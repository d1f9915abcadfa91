/**
 * Benchmark (not part of `npm test`): p50/p99 of every query shape of the regulator's API at large
 * mirrors (issue 18, point 6: p99 ≤ 20 ms at 1,000,000 permits), measured through the routes
 * (HTTP, JWT, validation, JSON) of one gateway (a process of its own; BENCH_QUERY_GATEWAY) on a
 * real PostgreSQL, for each size of BENCH_QUERY_SIZES, with the table and index bytes per row of
 * each size (disk per permit).
 *
 * The mirror is synthetic, in the indexer's schema (`syntheticPermits`, `syntheticSurroundings`,
 * `syntheticTrail`): BENCH_ORGS enterprises with BENCH_SITES sites among them, one permit a minute
 * back from now, one alarm per ten permits, one worker per fifty, and each permit's gas tests, gate
 * checks and evidence (about 4.75 rows a permit); the permits whose window ended swept to expired
 * as the reporter does (BENCH_SWEPT=0: not). Each size is measured by a process of its own
 * (measureInOwnProcess). Needs TEST_DATABASE_URL and the network's
 * connection profile (the gateway connects at start). Prints Markdown for bench/RESULTS.md, with
 * the CPU each request cost the gateway, the client and PostgreSQL (the server and all its
 * processes, from /proc: a server on this machine), which move less with the machine's load than
 * the latencies do.
 *
 *   BENCH_QUERY_SIZES=100000,1000000 BENCH_QUERY_RUNS=200 npm run bench:regulator-queries -w gateway
 * BENCH_QUERY_TRACE=1 also says, for each request over 20 ms, what else happened while it ran.
 */

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Client, createDatabase, dropDatabase, startTestGateway } from '../test/support/env.js';
import { syntheticPermits, syntheticSurroundings, syntheticTrail } from '../test/support/indexer.js';
import { makeCast } from '../test/support/scenario.js';
import { cpuBetween, postgresPid, snapshot, type Watched } from './proc-cpu.js';
import { forkGateway, httpRequest } from './support.js';

const SIZES = (process.env.BENCH_QUERY_SIZES ?? '100000,1000000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_QUERY_RUNS ?? 200);
const ORGS = Number(process.env.BENCH_ORGS ?? 200);
const SITES = Number(process.env.BENCH_SITES ?? 1000);
const TARGET_MS = 20;
/** 0: the sweeper never ran, every permit whose window ended still reads expired only by its clock. */
const SWEPT = process.env.BENCH_SWEPT !== '0';
/** An existing mirror to measure again (one size only): its 1 M rows take minutes to build. */
const REUSE_DB = process.env.BENCH_QUERY_DB;
/** 1: keep the mirror built (its URL printed) for EXPLAIN or a later run with BENCH_QUERY_DB. */
const KEEP_DB = process.env.BENCH_KEEP_DB === '1';
/** Only the shapes whose name matches this regular expression. */
const ONLY = process.env.BENCH_QUERY_ONLY ? new RegExp(process.env.BENCH_QUERY_ONLY) : undefined;
/**
 * How the bench asks: `http` (default), node:http over one kept-alive connection, as a dashboard's
 * browser or a regulator's server would; `fetch`, the tests' client (undici). The client shares
 * the gateway's process and cores, so its own cost is in every figure: fetch added 0.7 ms at p50
 * and 4 ms at p99 to a request that runs no query (bench/RESULTS.md, 2026-12-05, night).
 */
const CLIENT = process.env.BENCH_QUERY_CLIENT ?? 'http';
/**
 * Requests to the floor shape before any shape is measured: the first thousands of requests run
 * the gateway's code before V8 has optimised it (p50 of the floor 3.0 ms over its first 2,000,
 * 1.8 ms over the next 2,000), which would land on whichever shapes come first.
 */
const PROCESS_WARMUP = Number(process.env.BENCH_QUERY_PROCESS_WARMUP ?? 3000);

/**
 * Requests to each shape before its measured ones. A report runs its statements on up to four
 * pooled connections, each of which plans a statement the first time it runs it there: over the
 * first hundred or so reports those plans land on single requests (2026-12-06: of a park report's
 * requests over 20 ms, most fell in its first 150 of 300; see `over` in the log line).
 */
const SHAPE_WARMUP = Number(process.env.BENCH_QUERY_SHAPE_WARMUP ?? 10);
/**
 * 1: for each request over TARGET_MS, what else happened while it ran: this process's garbage
 * collections (ms of pauses within it), its own CPU time, and the machine's stolen and idle time
 * (/proc/stat, in clock ticks of 10 ms, all CPUs): a slow request that used little CPU of its own
 * waited on PostgreSQL or on a hypervisor.
 */
const TRACE = process.env.BENCH_QUERY_TRACE === '1';
/** Set by measureInOwnProcess for its child: where the child writes its figures. */
const RESULTS_FILE = process.env.BENCH_QUERY_RESULTS_FILE;
/**
 * Where the gateway runs: `process` (default), a process of its own as in production, so that the
 * client's garbage and collections are not the gateway's (the slow requests of the 2026-12-07 night
 * entry were this process's collections, the client's share included); `in-process`, in the bench's
 * own process as before. BENCH_GATEWAY_NODE_OPTIONS are the forked gateway's node flags.
 */
const GATEWAY = process.env.BENCH_QUERY_GATEWAY ?? 'process';
if (GATEWAY !== 'process' && GATEWAY !== 'in-process') throw new Error(`BENCH_QUERY_GATEWAY must be process or in-process, not ${GATEWAY}`);

/** The machine's cumulative idle and stolen clock ticks, all CPUs. */
function machineTicks(): { idle: number; steal: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3]! + f[4]!, steal: f[7] ?? 0 };
}

/** GC pauses of this process, as [start, end, kind] in performance.now() time. */
const gcPauses: [number, number, string][] = [];
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};
const gcKind = (e: PerformanceEntry) => GC_KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? '?';
if (TRACE) {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcPauses.push([e.startTime, e.startTime + e.duration, gcKind(e)]);
  }).observe({ entryTypes: ['gc'] });
}
/** GC pause ms within [from, to), and the kinds of the collections that paused. */
function gcWithin(from: number, to: number): string {
  const hit = gcPauses.filter(([a, b]) => b > from && a < to);
  const ms = hit.reduce((sum, [a, b]) => sum + Math.min(b, to) - Math.max(a, from), 0);
  return `${ms.toFixed(1)} ms${hit.length ? ` (${hit.map(([, , kind]) => kind).join(', ')})` : ''}`;
}
/** A pause before each measured request, ms: a regulator who asks now and then, not in a loop (0: none). */
const PAUSE_MS = Number(process.env.BENCH_QUERY_PAUSE_MS ?? 0);

/**
 * The CPU of a request as one table cell: the gateway's, the client's, PostgreSQL's; without the client's
 * (NaN) when the gateway ran in the bench's process, whose figure then holds both.
 */
function cpuCell(gateway: number, client: number, postgres: number): string {
  return (Number.isNaN(client) ? [gateway, postgres] : [gateway, client, postgres]).map((x) => x.toFixed(1)).join(' / ');
}

/** The same figures in words, for the line printed after each shape. */
function cpuWords(gateway: number, client: number, postgres: number): string {
  return Number.isNaN(client)
    ? `gateway and client ${gateway.toFixed(1)}, PostgreSQL ${postgres.toFixed(1)}`
    : `gateway ${gateway.toFixed(1)}, client ${client.toFixed(1)}, PostgreSQL ${postgres.toFixed(1)}`;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const day = (d: number) => `${new Date(Date.now() - d * 86_400_000).toISOString().slice(0, 19)}Z`;
const thisMonth = new Date().toISOString().slice(0, 7);

/** Every query shape the regulator's screens and reports send: name, path. */
const SHAPES: [string, string][] = [
  ["floor: the caller's session (HTTP, JWT, JSON; no query)", '/v1/session'],
  ['permits: no filter, newest first', '/v1/regulator/permits?limit=50'],
  ['permits: one enterprise', '/v1/regulator/permits?org=E7MSP&limit=50'],
  ['permits: one site', '/v1/regulator/permits?site=site-7&limit=50'],
  ['permits: site + area', '/v1/regulator/permits?site=site-7&area=zone-0&limit=50'],
  ['permits: site + live states', '/v1/regulator/permits?site=site-7&state=active,suspended&limit=50'],
  ['permits: state active (whole park)', '/v1/regulator/permits?state=active&limit=50'],
  ['permits: state expired, one enterprise', '/v1/regulator/permits?org=E7MSP&state=expired&limit=50'],
  ['permits: type + level, by applied_at', '/v1/regulator/permits?type=hot_work&level=2&sort=applied_at&order=desc&limit=50'],
  ['permits: type, oldest first', '/v1/regulator/permits?type=lifting&order=asc&limit=50'],
  ['permits: time range (30 days), page 20', `/v1/regulator/permits?from=${day(30)}&limit=50&offset=1000`],
  ['permits: one enterprise, one week', `/v1/regulator/permits?org=E7MSP&from=${day(7)}&limit=50`],
  ['permits: by status change', '/v1/regulator/permits?sort=status_changed_at&limit=50'],
  ['permits: by planned start', '/v1/regulator/permits?sort=planned_start&limit=50'],
  ['permits: by valid until', '/v1/regulator/permits?sort=valid_until&limit=50'],
  ['permits: by permit number', '/v1/regulator/permits?sort=permit_no&order=asc&limit=50'],
  ['permit timeline', '/v1/regulator/permits/SYN-4242/timeline'],
  ['alarms: newest first', '/v1/regulator/alarms?limit=50'],
  ['alarms: one site', '/v1/regulator/alarms?site=site-7&limit=50'],
  ['alarms: one enterprise, grade 1', '/v1/regulator/alarms?org=E7MSP&grade=1&limit=50'],
  ['alarms: open', '/v1/regulator/alarms?status=open&limit=50'],
  ['alarms: last 7 days', `/v1/regulator/alarms?from=${day(7)}&limit=50`],
  ['certificates expiring (60 days)', '/v1/certificates-expiring?limit=50'],
  ['KPIs (30 days, byEnterprise, bySite)', '/v1/regulator/kpis'],
  ['KPIs (one year)', `/v1/regulator/kpis?from=${day(365)}`],
  ['monthly report, whole park', `/v1/regulator/reports/monthly?month=${thisMonth}`],
  ['monthly report, one enterprise', `/v1/regulator/reports/monthly?month=${thisMonth}&org=E7MSP`],
  ['monthly report, one site', `/v1/regulator/reports/monthly?month=${thisMonth}&site=site-7`],
  ['areas (active permits, open alarms)', '/v1/regulator/areas'],
  ['risk map (one year): first page of 100 sites (before: every area)', '/v1/regulator/risk-map'],
  ['risk map (one year), a later page of 100 sites', '/v1/regulator/risk-map?cursor=site-500'],
  ['risk map (one year), one site by area', '/v1/regulator/risk-map?site=site-7'],
];

/** Table and index bytes of the tables the mirror's permits fill, per permit. */
async function diskPerPermit(db: string): Promise<{ permits: number; tableBytes: number; indexBytes: number; allDomainBytes: number }> {
  const c = new pg.Client({ connectionString: db });
  await c.connect();
  try {
    const [r] = (
      await c.query(`SELECT (SELECT count(*) FROM permits) AS n, pg_table_size('permits') AS t, pg_indexes_size('permits') AS i,
                            (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
                              WHERE s.nspname = 'public' AND c.relkind IN ('r', 'm')) AS all_bytes`)
    ).rows;
    return { permits: Number(r.n), tableBytes: Number(r.t), indexBytes: Number(r.i), allDomainBytes: Number(r.all_bytes) };
  } finally {
    await c.end();
  }
}

/** One shape's figures at one size. */
interface Figures {
  p50: number;
  p99: number;
  gatewayCpu: number;
  clientCpu: number;
  postgresCpu: number;
}

/** Every shape (of BENCH_QUERY_ONLY) against the mirror `db`, through a gateway started for it. */
async function measure(db: string, size: number): Promise<Map<string, Figures>> {
  const figures = new Map<string, Figures>();
  const env = {
    DATABASE_URL: db,
    GATEWAY_RATE_LIMIT_PER_WINDOW: '1000000',
    ...(process.env.DATABASE_POOL_IDLE_MS ? { DATABASE_POOL_IDLE_MS: process.env.DATABASE_POOL_IDLE_MS } : {}),
  };
  const gw = GATEWAY === 'process' ? await forkGateway(env) : await startTestGateway(env);
  const watched: Watched[] = [
    { name: 'gateway', pid: 'pid' in gw ? gw.pid : process.pid },
    ...('pid' in gw ? [{ name: 'client', pid: process.pid }] : []),
    { name: 'postgres', pid: await postgresPid(db), withChildren: true },
  ];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const reg = (await makeCast(new Client(gw.url))).clients.regulator;
    const get = CLIENT === 'fetch' ? (url: string) => reg.get(url) : (url: string) => httpRequest(agent, gw.url + url, { headers: reg.auth });
    for (let i = 0; i < PROCESS_WARMUP; i++) await get(SHAPES[0]![1]);
    for (const [name, url] of SHAPES.filter(([n]) => !ONLY || ONLY.test(n))) {
      const lat: number[] = [];
      for (let i = 0; i < SHAPE_WARMUP; i++) await get(url);
      const before = snapshot(watched);
      const slow: string[] = [];
      for (let i = 0; i < RUNS; i++) {
        if (PAUSE_MS > 0) await sleep(PAUSE_MS);
        const ticks = TRACE ? machineTicks() : undefined;
        const cpu0 = TRACE ? process.cpuUsage() : undefined;
        const t = performance.now();
        const r = await get(url);
        if (r.status !== 200) throw new Error(`${name}: ${r.status} ${r.text.slice(0, 300)}`);
        const end = performance.now();
        lat.push(end - t);
        if (ticks && cpu0 && end - t > TARGET_MS) {
          const own = process.cpuUsage(cpu0);
          const now = machineTicks();
          slow.push(
            `#${i} ${(end - t).toFixed(1)} ms: GC ${gcWithin(t, end)}, own CPU ${((own.user + own.system) / 1000).toFixed(1)} ms, ` +
              `machine idle ${now.idle - ticks.idle} / stolen ${now.steal - ticks.steal} ticks`,
          );
        }
      }
      if (slow.length > 0) console.error(`${size} ${name}, requests over ${TARGET_MS} ms:\n  ${slow.join('\n  ')}`);
      const cpu = cpuBetween(before, snapshot(watched));
      const gatewayCpu = cpu.get('gateway')! / RUNS;
      const clientCpu = (cpu.get('client') ?? Number.NaN) / RUNS;
      const postgresCpu = cpu.get('postgres')! / RUNS;
      figures.set(name, { p50: pct(lat, 50), p99: pct(lat, 99), gatewayCpu, clientCpu, postgresCpu });
      // The minimum too: on a shared machine it moves least with the load.
      console.error(
        `${size} ${name}: min ${Math.min(...lat).toFixed(1)} p50 ${pct(lat, 50).toFixed(1)} p99 ${pct(lat, 99).toFixed(1)}; ` +
          `CPU ms a request: ${cpuWords(gatewayCpu, clientCpu, postgresCpu)}; ` +
          `over ${TARGET_MS} ms: ${lat.flatMap((x, i) => (x > TARGET_MS ? [`#${i} ${x.toFixed(0)}`] : [])).join(', ') || 'none'}`,
      );
    }
  } finally {
    agent.destroy();
    await gw.close();
  }
  return figures;
}

/**
 * measure() in a process of its own, started after the mirror is built: the process that waited
 * for the build kept a 56 MB heap whose old generation V8 then marked again every few dozen
 * reports (an incremental mark-compact with about 40 ms of marking each), which put the KPIs' and
 * the park report's p99 at 100,000 permits at 23–35 ms, against 13–17 ms measured by a new
 * process on the same mirror at once after it (40 MB, three mark-compacts in all; 2026-12-07).
 */
function measureInOwnProcess(db: string, size: number): Map<string, Figures> {
  const file = path.join(os.tmpdir(), `regulator-queries-${process.pid}-${size}.json`);
  try {
    execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_QUERY_DB: db, BENCH_QUERY_SIZES: String(size), BENCH_QUERY_RESULTS_FILE: file },
    });
    return new Map(JSON.parse(fs.readFileSync(file, 'utf8')) as [string, Figures][]);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

async function main(): Promise<void> {
  if (RESULTS_FILE) {
    // The child of measureInOwnProcess: its figures go to the parent, which prints the tables.
    fs.writeFileSync(RESULTS_FILE, JSON.stringify([...(await measure(REUSE_DB!, SIZES[0]!))]));
    return;
  }
  const out = (s: string) => console.log(s);
  out(
    `# Regulator queries at scale (${new Date().toISOString()}), ${RUNS} sequential runs per shape after 10 warm-ups ` +
      `(and ${PROCESS_WARMUP} requests before the first shape), client: ${CLIENT}`,
  );
  out(`${ORGS} enterprises, ${SITES} sites, ended permits ${SWEPT ? 'swept to expired' : 'not swept'}; load average ${os.loadavg()[0]!.toFixed(1)}`);
  const results = new Map<string, Map<number, Figures>>();
  const disks: { size: number; d: Awaited<ReturnType<typeof diskPerPermit>> }[] = [];
  for (const size of SIZES) {
    const db = REUSE_DB ?? (await createDatabase('gw_regq'));
    try {
      if (!REUSE_DB) {
        const t0 = performance.now();
        await syntheticPermits(db, size, { orgs: ORGS, sites: SITES, swept: SWEPT });
        await syntheticSurroundings(db, size, { orgs: ORGS, sites: SITES });
        await syntheticTrail(db, size, { orgs: ORGS });
        console.error(`${size} permits generated in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      }
      if (KEEP_DB) console.error(`mirror kept: ${db}`);
      disks.push({ size, d: await diskPerPermit(db) });
      const figures = REUSE_DB ? await measure(db, size) : measureInOwnProcess(db, size);
      for (const [name, f] of figures) results.set(name, (results.get(name) ?? new Map<number, Figures>()).set(size, f));
    } finally {
      if (!REUSE_DB && !KEEP_DB) await dropDatabase(db);
    }
  }
  out('');
  const cpuWho = GATEWAY === 'process' ? 'gateway / client' : 'gateway and client';
  out(
    `| query | ${SIZES.map((n) => `p50 / p99 ms, ${n.toLocaleString('en')} permits`).join(' | ')} | p99 growth | ` +
      `CPU ms a request at ${SIZES[SIZES.length - 1]!.toLocaleString('en')}: ${cpuWho} / PostgreSQL |`,
  );
  out(`|---|${SIZES.map(() => '---|').join('')}---|---|`);
  for (const [name, m] of results) {
    const cells = SIZES.map((n) => {
      const r = m.get(n)!;
      return `${r.p50.toFixed(1)} / ${r.p99 > TARGET_MS ? `**${r.p99.toFixed(1)}**` : r.p99.toFixed(1)}`;
    });
    const first = m.get(SIZES[0]!)!.p99;
    const last = m.get(SIZES[SIZES.length - 1]!)!.p99;
    const cpu = m.get(SIZES[SIZES.length - 1]!)!;
    out(`| ${name} | ${cells.join(' | ')} | ×${(last / first).toFixed(1)} | ${cpuCell(cpu.gatewayCpu, cpu.clientCpu, cpu.postgresCpu)} |`);
  }
  out('');
  out('| permits | permits table | its indexes | bytes per permit (table + indexes) | every table of the mirror |');
  out('|---|---|---|---|---|');
  for (const { size, d } of disks) {
    const mib = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;
    out(
      `| ${size.toLocaleString('en')} | ${mib(d.tableBytes)} | ${mib(d.indexBytes)} | ` +
        `${((d.tableBytes + d.indexBytes) / d.permits).toFixed(0)} | ${mib(d.allDomainBytes)} |`,
    );
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
