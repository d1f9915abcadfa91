/**
 * Benchmark (not part of `npm test`): the saturation of permit:Apply. It raises the number of
 * concurrent callers until throughput stops rising, for three paths at each level, one after the
 * other (so that drift of a shared machine hits all three alike):
 *  - direct: the fabric-gateway client straight to the enterprise peer, as the same identity the
 *    gateway uses for the applicant;
 *  - api: POST /v1/permits, the gateway signing with its custodial wallet;
 *  - client-signed: prepare → sign → endorse → sign → submit, the key held by the bench client.
 * The gateway runs in a process of its own (gateway-process.ts) so that its CPU is measured apart
 * from the client's. For each path at each level: permits/s, p50/p99 latency, failures, and the
 * CPU time per committed transaction of each process (peers, orderers, chaincode servers,
 * gateway, PostgreSQL with its backends, the bench client), from /proc/<pid>/stat before/after.
 * Then, for each path, calls at fixed rates of BENCH_OPEN_FRACTIONS of its ceiling (default 0.8,0.9; an
 * open loop, BENCH_OPEN_SECONDS each, default BENCH_LEVEL_SECONDS): the latency at a load near the
 * ceiling without the closed loop's own queue (there, latency is in flight / throughput).
 * Prints Markdown for bench/RESULTS.md; BENCH_JSON=<file> also writes the figures as JSON.
 *
 * BENCH_TURNS=k: at each level the paths take k turns each, alternating, summed per path.
 *
 *   BENCH_LEVELS=16,32,64,128,256,384 BENCH_LEVEL_SECONDS=20 BENCH_PATHS=direct,api,client-signed \
 *     npm run bench:saturation -w gateway
 * BENCH_GATEWAY_NODE_OPTIONS adds flags to the gateway's node after those it ships with (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`);
 * BENCH_GATEWAY_ENV, a JSON object, more settings to the gateway (e.g. `{"GATEWAY_COMMIT_STATUS_FROM_BLOCKS":"false"}`).
 * BENCH_API_CLIENT: the REST API path's HTTP client, `http` (node:http, kept alive; default) or `fetch` (the tests' client).
 * Needs the network (connection profile) and TEST_DATABASE_URL.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectToOrg, loadConnectionProfile } from '@compliance-ledger/fabric-client';
import { submitClientSigned } from '../src/client-signing.js';
import { Client, createDatabase, dropDatabase, profilePath, runDir } from '../test/support/env.js';
import { applyBody, makeCast, registerCast } from '../test/support/scenario.js';
import { cpuBetween, networkProcesses, postgresPid, snapshot, type Watched } from './proc-cpu.js';
import { closedLoop, enrolKeyHolder, forkGateway, httpPostJson, openLoop, pct } from './support.js';

const LEVELS = (process.env.BENCH_LEVELS ?? '16,32,64,128,256,384').split(',').map(Number);
const LEVEL_SECONDS = Number(process.env.BENCH_LEVEL_SECONDS ?? 20);
/**
 * Turns each path takes at a level (each BENCH_LEVEL_SECONDS long, the paths alternating): the
 * machine's drift within a level then falls on every path alike, and the API / direct column also
 * gives the range of the turns' own ratios. Default 1.
 */
const TURNS = Number(process.env.BENCH_TURNS ?? 1);
const PATHS = (process.env.BENCH_PATHS ?? 'direct,api,client-signed').split(',') as PathName[];
/**
 * The REST API path's HTTP client: `http` (default), node:http with kept-alive connections; `fetch`,
 * the tests' client (undici), which costs this process more CPU a request (bench/support.ts).
 */
const API_CLIENT = process.env.BENCH_API_CLIENT ?? 'http';
/** A level that does not beat the best so far by this factor has not raised throughput. */
const RISE = 1.05;
const OPEN_FRACTIONS = (process.env.BENCH_OPEN_FRACTIONS ?? '0.8,0.9').split(',').filter(Boolean).map(Number);
const OPEN_SECONDS = Number(process.env.BENCH_OPEN_SECONDS ?? LEVEL_SECONDS);

type PathName = 'direct' | 'api' | 'client-signed';

interface Row {
  path: PathName;
  concurrency: number;
  perSecond: number;
  p50: number;
  p99: number;
  done: number;
  failed: number;
  load1: number;
  /** CPU ms per committed transaction, by process. */
  cpuPerTx: Record<string, number>;
  /** Throughput of each turn (BENCH_TURNS), in order. */
  turns: number[];
}

const f0 = (x: number) => x.toFixed(0);
const f1 = (x: number) => x.toFixed(1);

async function main(): Promise<void> {
  const db = await createDatabase('gw_bench_sat');
  const gw = await forkGateway({
    GATEWAY_ORG: 'enterprise',
    DATABASE_URL: db,
    GATEWAY_RATE_LIMIT_PER_WINDOW: '1000000',
    GATEWAY_OCR_ENABLED: '0',
    ...(JSON.parse(process.env.BENCH_GATEWAY_ENV ?? '{}') as Record<string, string>),
  });
  const out = (s: string) => console.log(s);
  try {
    const cast = await makeCast(new Client(gw.url));
    await registerCast(cast);
    // Enrols the applicant's custodial identity, whose wallet entry the direct path reuses.
    const warm = await cast.clients.applicant.post('/v1/permits', applyBody(cast, `SW-${cast.tag}`));
    if (warm.status !== 201) throw new Error(`warm-up apply: ${warm.status} ${warm.text}`);
    const profile = loadConnectionProfile(profilePath());
    const direct = connectToOrg(profile, 'enterprise', { enrolledDir: path.join(gw.walletDir, 'enterprise', `gw-applicant-${cast.tag}`) });
    const contract = direct.gateway.getNetwork(profile.channel).getContract(profile.chaincode);
    const ca = profile.organizations.enterprise.ca;
    if (ca === undefined) throw new Error('the connection profile names no enterprise CA');
    const keyHolder = PATHS.includes('client-signed') ? await enrolKeyHolder(gw.url, ca, gw.caClient) : undefined;

    const apiAgent = new http.Agent({ keepAlive: true });
    const calls: Record<PathName, (permitNo: string) => Promise<void>> = {
      direct: async (permitNo) => {
        await contract.submit('permit:Apply', { arguments: [JSON.stringify(applyBody(cast, permitNo))] });
      },
      api: async (permitNo) => {
        const r =
          API_CLIENT === 'fetch'
            ? await cast.clients.applicant.post('/v1/permits', applyBody(cast, permitNo))
            : await httpPostJson(apiAgent, `${gw.url}/v1/permits`, cast.clients.applicant.auth, applyBody(cast, permitNo));
        if (r.status !== 201) throw new Error(`${r.status} ${r.text}`);
      },
      'client-signed': async (permitNo) => {
        const k = keyHolder!;
        const r = await submitClientSigned({
          gatewayUrl: gw.url,
          token: k.token,
          certificatePem: k.certificatePem,
          privateKeyPem: k.privateKeyPem,
          transaction: 'permit:Apply',
          input: applyBody(cast, permitNo),
        });
        if (r.status !== 200) throw new Error(`${r.status} ${JSON.stringify(r.body)}`);
      },
    };

    const watched: Watched[] = [
      ...networkProcesses(runDir()),
      { name: 'gateway', pid: gw.pid },
      { name: 'postgres', pid: await postgresPid(db), withChildren: true },
      { name: 'bench client', pid: process.pid },
    ];
    const run = cast.tag;
    // JIT, connections, the key holder's first proposals: not part of the figures.
    for (const p of PATHS) await closedLoop({ concurrency: 16, n: 64 }, (i) => calls[p](`SX-${run}-${p}-${i}`));

    const rows: Row[] = [];
    const best = new Map<PathName, number>();
    let flat = 0;
    for (const concurrency of LEVELS) {
      let rose = false;
      // The paths take TURNS turns each at a level; a path's figures are the sum of its turns.
      const sums = new Map<
        PathName,
        { done: number; failed: number; seconds: number; lat: number[]; cpu: Map<string, number>; rates: number[]; firstError?: unknown }
      >();
      for (let turn = 0; turn < TURNS; turn++) {
        for (const p of PATHS) {
          const before = snapshot(watched);
          const t = await closedLoop({ concurrency, untilMs: LEVEL_SECONDS * 1000 }, (i) => calls[p](`S-${run}-${p}-${concurrency}-${turn}-${i}`));
          const cpu = cpuBetween(before, snapshot(watched));
          const sum = sums.get(p) ?? { done: 0, failed: 0, seconds: 0, lat: [], cpu: new Map<string, number>(), rates: [] };
          sum.done += t.done;
          sum.failed += t.failed;
          sum.seconds += t.seconds;
          sum.lat.push(...t.lat);
          sum.firstError ??= t.firstError;
          for (const [name, ms] of cpu) sum.cpu.set(name, (sum.cpu.get(name) ?? 0) + ms);
          sum.rates.push(t.done / t.seconds);
          sums.set(p, sum);
          if (TURNS > 1) console.error(`${p} c=${concurrency} turn ${turn + 1}: ${f1(t.done / t.seconds)}/s`);
        }
      }
      for (const p of PATHS) {
        const t = sums.get(p)!;
        if (t.failed > 0) console.error(`${p} at ${concurrency}: ${t.failed} failed, first: ${String(t.firstError)}`);
        const perSecond = t.done / t.seconds;
        const cpuPerTx: Record<string, number> = {};
        for (const [name, ms] of t.cpu) cpuPerTx[name] = ms / Math.max(1, t.done);
        const load1 = os.loadavg()[0]!;
        rows.push({
          path: p,
          concurrency,
          perSecond,
          p50: pct(t.lat, 50),
          p99: pct(t.lat, 99),
          done: t.done,
          failed: t.failed,
          load1,
          cpuPerTx,
          turns: t.rates,
        });
        console.error(`${p} c=${concurrency}: ${f1(perSecond)}/s p50 ${f0(pct(t.lat, 50))} p99 ${f0(pct(t.lat, 99))} load ${os.loadavg()[0]!.toFixed(1)}`);
        if (perSecond > (best.get(p) ?? 0) * RISE) rose = true;
        best.set(p, Math.max(best.get(p) ?? 0, perSecond));
      }
      flat = rose ? 0 : flat + 1;
      if (flat === 2) break;
    }
    // Fixed arrival rates near each path's ceiling, the paths taking turns at each fraction.
    const ceilingOf = (p: PathName) => Math.max(...rows.filter((r) => r.path === p).map((r) => r.perSecond));
    const open: { path: PathName; fraction: number; offered: number; perSecond: number; p50: number; p99: number; failed: number; skipped: number }[] = [];
    for (const fraction of OPEN_FRACTIONS) {
      for (const p of PATHS) {
        const offered = fraction * ceilingOf(p);
        const t = await openLoop({ perSecond: offered, seconds: OPEN_SECONDS, maxInFlight: 2000 }, (i) => calls[p](`SO-${run}-${p}-${fraction}-${i}`));
        if (t.failed > 0) console.error(`${p} open at ${fraction}: ${t.failed} failed, first: ${String(t.firstError)}`);
        const row = {
          path: p,
          fraction,
          offered,
          perSecond: t.done / t.seconds,
          p50: pct(t.lat, 50),
          p99: pct(t.lat, 99),
          failed: t.failed,
          skipped: t.skipped,
        };
        open.push(row);
        console.error(`${p} open ${fraction} (${f1(offered)}/s offered): ${f1(row.perSecond)}/s p50 ${f0(row.p50)} p99 ${f0(row.p99)}`);
      }
    }
    direct.close();

    const perLevel = TURNS > 1 ? `${TURNS} turns of ${LEVEL_SECONDS} s per path and level` : `${LEVEL_SECONDS} s per level`;
    out(`## Saturation of permit:Apply (${new Date().toISOString()}), ${perLevel}, one enterprise gateway process`);
    out('');
    out(`| concurrency | ${PATHS.map((p) => `${p} /s | p50 ms | p99 ms`).join(' | ')} | API / direct | load (1 min) |`);
    out(`|---|${PATHS.map(() => '---|---|---').join('|')}|---|---|`);
    for (const c of [...new Set(rows.map((r) => r.concurrency))]) {
      const at = (p: PathName) => rows.find((r) => r.path === p && r.concurrency === c);
      const cells = PATHS.map((p) => {
        const r = at(p);
        return r ? `${f1(r.perSecond)}${r.failed ? ` (${r.failed} failed)` : ''} | ${f0(r.p50)} | ${f0(r.p99)}` : '— | — | —';
      });
      const a = at('api');
      const d = at('direct');
      const perTurn = a && d && TURNS > 1 ? a.turns.map((x, i) => x / d.turns[i]!) : [];
      const range = perTurn.length > 0 ? ` (turns ${Math.min(...perTurn).toFixed(2)}–${Math.max(...perTurn).toFixed(2)})` : '';
      const ratio = a && d ? `${(a.perSecond / d.perSecond).toFixed(2)}${range}` : '—';
      out(`| ${c} | ${cells.join(' | ')} | ${ratio} | ${Math.max(...rows.filter((r) => r.concurrency === c).map((r) => r.load1)).toFixed(1)} |`);
    }
    out('');
    const ceilings = PATHS.map((p) => rows.filter((r) => r.path === p).reduce((a, b) => (b.perSecond > a.perSecond ? b : a)));
    out('Ceiling (highest throughput of the sweep) and CPU per committed transaction there, ms, from /proc/<pid>/stat (user + system):');
    out('');
    out(`| process | ${ceilings.map((r) => `${r.path} @ ${r.concurrency}: ${f1(r.perSecond)}/s, p50 ${f0(r.p50)} ms, p99 ${f0(r.p99)} ms`).join(' | ')} |`);
    out(`|---|${ceilings.map(() => '---').join('|')}|`);
    for (const w of watched) out(`| ${w.name} | ${ceilings.map((r) => (r.cpuPerTx[w.name] ?? 0).toFixed(2)).join(' | ')} |`);
    const total = (r: Row) => Object.values(r.cpuPerTx).reduce((a, b) => a + b, 0);
    out(`| **total** | ${ceilings.map((r) => `**${total(r).toFixed(2)}**`).join(' | ')} |`);
    out(`| CPU-bound limit on ${os.cpus().length} cores, tx/s | ${ceilings.map((r) => f0((os.cpus().length * 1000) / total(r))).join(' | ')} |`);
    out('');
    if (open.length > 0) {
      out(`Fixed arrival rates (an open loop, ${OPEN_SECONDS} s each) at fractions of each path's ceiling above:`);
      out('');
      out('| path | fraction of its ceiling | offered /s | answered /s | p50 ms | p99 ms | failed | not sent (2,000 in flight) |');
      out('|---|---|---|---|---|---|---|---|');
      for (const o of open)
        out(`| ${o.path} | ${o.fraction} | ${f1(o.offered)} | ${f1(o.perSecond)} | ${f0(o.p50)} | ${f0(o.p99)} | ${o.failed} | ${o.skipped} |`);
      out('');
    }
    if (process.env.BENCH_JSON) fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify({ levelSeconds: LEVEL_SECONDS, rows, open }, null, 2));
  } finally {
    await gw.close();
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
