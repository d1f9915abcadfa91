/**
 * Benchmark (not part of `npm test`):
 *  1. permit:Apply throughput through the API versus the same transactions sent straight with the
 *     fabric-gateway client as the same Fabric identity, in the same run: permits/s, the ratio
 *     (target ≥ 0.8), p50 and p99 latency.
 *  2. Concurrent permit flows on one site: BENCH_FLOWS hot-work permits, each in its own zone with
 *     its own crew (so no two conflict under SIMOPS), all run at once through the API from
 *     application to active, with no retries: flows/s, and the conflict rate, the share of step
 *     requests whose transaction was committed invalid (409 CONFLICT), by validation code.
 *  3. Regulator query latency with ≥ 100,000 permits in the indexer's tables (synthetic rows, the
 *     indexer's own schema): p50/p99 per query shape (target p99 ≤ 50 ms).
 * Needs the network (connection profile) and TEST_DATABASE_URL. Prints Markdown for bench/RESULTS.md.
 * BENCH_PARTS picks the parts (default `apply,flows,queries`).
 *
 *   BENCH_PERMITS=300 BENCH_CONCURRENCY=16 BENCH_FLOWS=20 BENCH_QUERY_ROWS=100000 npm run bench -w gateway
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { connectToOrg, loadConnectionProfile, validationCodeName } from '@compliance-ledger/fabric-client';
import pg from 'pg';
import { Client, createDatabase, dropDatabase, profilePath, startTestGateway, workerId } from '../test/support/env.js';
import { syntheticPermits } from '../test/support/indexer.js';
import { applyBody, type Cast, iso, makeCast, registerCast } from '../test/support/scenario.js';

const PERMITS = Number(process.env.BENCH_PERMITS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const QUERY_ROWS = Number(process.env.BENCH_QUERY_ROWS ?? 100_000);
const QUERY_RUNS = Number(process.env.BENCH_QUERY_RUNS ?? 200);
const FLOWS = Number(process.env.BENCH_FLOWS ?? 20);
const PARTS = new Set((process.env.BENCH_PARTS ?? 'apply,flows,queries').split(','));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

async function timed(n: number, fn: (i: number) => Promise<void>): Promise<{ perSecond: number; p50: number; p99: number; seconds: number }> {
  const lat: number[] = [];
  const t0 = performance.now();
  await pool(n, CONCURRENCY, async (i) => {
    const t = performance.now();
    await fn(i);
    lat.push(performance.now() - t);
  });
  const seconds = (performance.now() - t0) / 1000;
  return { perSecond: n / seconds, p50: pct(lat, 50), p99: pct(lat, 99), seconds };
}

interface StepOutcome {
  step: string;
  status: number;
  validationCode: number | null;
}

/**
 * One hot-work flow of the bench: its own zone (x 100 m apart from the others, beyond every
 * SIMOPS distance), welder, guardian and person in charge; steps in order, the gate checks of one
 * permit at once. A step that fails ends the flow: nothing is retried.
 */
async function permitFlow(cast: Cast, run: string, i: number, record: (o: StepOutcome) => void): Promise<boolean> {
  const c = cast.clients;
  const permitNo = `BF-${run}-${i}`;
  const crew = { welder: workerId(`bf-welder-${run}-${i}`), guardian: workerId(`bf-guardian-${run}-${i}`) };
  const step = async (name: string, client: Client, p: string, body: unknown): Promise<boolean> => {
    const r = await client.post(p, body);
    const code = r.status === 409 && r.body?.error?.code === 'CONFLICT' ? Number(r.body.error.details?.validationCode) : null;
    record({ step: name, status: r.status, validationCode: code });
    if (r.status >= 300 && code === null) throw new Error(`${name} of ${permitNo}: ${r.status} ${r.text}`);
    return r.status < 300;
  };
  const base = `/v1/permits/${permitNo}`;
  const steps: [string, Client, string, unknown][] = [
    [
      'apply',
      c.applicant,
      '/v1/permits',
      {
        ...applyBody(cast, permitNo),
        location: { siteId: cast.siteId, zoneId: `zone-bf-${i}`, coordinates: { x: 100 * i, y: 0 }, fireExplosionZone: false, outdoor: true },
        workers: [crew.welder],
        guardianId: crew.guardian,
      },
    ],
    [
      'risk-assessment',
      c.pic,
      `${base}/risk-assessment`,
      {
        confirmations: [
          { measureId: 'm1', confirmedBy: cast.personInCharge },
          { measureId: 'm2', confirmedBy: cast.personInCharge },
        ],
      },
    ],
    ['gas-test', c.analyst, `${base}/gas-tests`, { testId: 'gt-1', sampleTakenAt: iso(Date.now() - 30_000), lelClass: 'lel_ge_4', flammableVolPct: 0.1 }],
    ['sign-off', c.approver, `${base}/sign-offs`, { stepId: 'approval', atSite: true }],
    ['issue', c.approver, `${base}/issue`, {}],
    ['brief', c.pic, `${base}/brief`, { briefedWorkerIds: [crew.welder] }],
  ];
  for (const [name, client, p, body] of steps) if (!(await step(name, client, p, body))) return false;
  const gates = await Promise.all(
    [crew.welder, crew.guardian].map((w, g) =>
      step('gate-check', c.gate, `${base}/gate-checks`, {
        gateCheckId: `gc-${g}`,
        workerId: w,
        qr: { passed: true },
        face: { scoreBp: 9300, deviceId: cast.deviceId },
        health: { passed: true },
      }),
    ),
  );
  if (gates.includes(false)) return false;
  return step('start', c.pic, `${base}/start`, {});
}

/** Registers each flow's welder and guardian with their certificates (not part of the figures). */
async function registerFlowCrews(cast: Cast, run: string, n: number): Promise<void> {
  const now = Date.now();
  await pool(n, CONCURRENCY, async (i) => {
    const people: [string, string, string][] = [
      [workerId(`bf-welder-${run}-${i}`), 'welding_cutting', '熔化焊接与热切割作业'],
      [workerId(`bf-guardian-${run}-${i}`), 'guardian', '特殊作业监护人'],
    ];
    for (const [w, category, item] of people) {
      const r = await cast.clients.credential.post('/v1/workers', { workerId: w });
      if (r.status !== 201) throw new Error(`register worker: ${r.status} ${r.text}`);
      const cert = await cast.clients.credential.post('/v1/certificates', {
        certificateId: `bf-cert-${run}-${i}-${category}`,
        workerId: w,
        category,
        item,
        authority: '应急管理局',
        validFrom: iso(now - 365 * 86_400_000),
        validUntil: iso(now + 4 * 365 * 86_400_000),
        reviewDue: iso(now + 2 * 365 * 86_400_000),
        scanSha256: crypto.createHash('sha256').update(`bf-scan-${run}-${i}-${category}`).digest('hex'),
      });
      if (cert.status !== 201) throw new Error(`add certificate: ${cert.status} ${cert.text}`);
    }
  });
}

async function main(): Promise<void> {
  const db = await createDatabase('gw_bench');
  const gw = await startTestGateway({ DATABASE_URL: db, GATEWAY_RATE_LIMIT_PER_WINDOW: '1000000' });
  // Markdown on stdout, for bench/RESULTS.md.
  const out = (s: string) => console.log(s);
  try {
    const cast = await makeCast(new Client(gw.url));
    await registerCast(cast);
    // Warm up: enrol the applicant, open connections.
    await cast.clients.applicant.post('/v1/permits', applyBody(cast, `BW-${cast.tag}`));

    const run = crypto.randomBytes(3).toString('hex');
    out(`# Gateway benchmark (${new Date().toISOString()})`);
    out('');
    if (PARTS.has('apply')) {
      // The same identity the gateway uses for this applicant, straight through fabric-gateway.
      const profile = loadConnectionProfile(profilePath());
      const direct = connectToOrg(profile, 'enterprise', {
        enrolledDir: path.join(gw.services.config.GATEWAY_WALLET_DIR, 'enterprise', `gw-applicant-${cast.tag}`),
      });
      const contract = direct.gateway.getNetwork(profile.channel).getContract(profile.chaincode);

      const viaDirect = await timed(PERMITS, async (i) => {
        await contract.submit('permit:Apply', { arguments: [JSON.stringify(applyBody(cast, `BD-${run}-${i}`))] });
      });
      const viaApi = await timed(PERMITS, async (i) => {
        const r = await cast.clients.applicant.post('/v1/permits', applyBody(cast, `BA-${run}-${i}`));
        if (r.status !== 201) throw new Error(`${r.status} ${r.text}`);
      });
      direct.close();

      out(`## permit:Apply, ${PERMITS} permits, concurrency ${CONCURRENCY}`);
      out('');
      out('| path | permits/s | p50 ms | p99 ms |');
      out('|---|---|---|---|');
      out(`| fabric-gateway client, direct | ${viaDirect.perSecond.toFixed(1)} | ${viaDirect.p50.toFixed(0)} | ${viaDirect.p99.toFixed(0)} |`);
      out(`| REST API (JWT, validation, idempotency in Postgres) | ${viaApi.perSecond.toFixed(1)} | ${viaApi.p50.toFixed(0)} | ${viaApi.p99.toFixed(0)} |`);
      out('');
      out(`API / direct throughput ratio: **${(viaApi.perSecond / viaDirect.perSecond).toFixed(2)}** (target ≥ 0.8)`);
      out('');
    }

    if (PARTS.has('flows')) {
      await registerFlowCrews(cast, run, FLOWS);
      const outcomes: StepOutcome[] = [];
      const t0 = performance.now();
      const lat: number[] = [];
      const done = await Promise.all(
        Array.from({ length: FLOWS }, async (_, i) => {
          const t = performance.now();
          const ok = await permitFlow(cast, run, i, (o) => outcomes.push(o));
          lat.push(performance.now() - t);
          return ok;
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const invalid = outcomes.filter((o) => o.validationCode !== null);
      const byCode = new Map<number, number>();
      for (const o of invalid) byCode.set(o.validationCode!, (byCode.get(o.validationCode!) ?? 0) + 1);
      const byStep = new Map<string, number>();
      for (const o of invalid) byStep.set(o.step, (byStep.get(o.step) ?? 0) + 1);
      const codes = [...byCode].map(([code, n]) => `${n} × ${code} ${validationCodeName(code)}`).join(', ') || 'none';
      out(`## ${FLOWS} concurrent hot-work flows on one site, application → active (API, no retries)`);
      out('');
      out(
        '| flows reaching active | step transactions | committed invalid | conflict rate | by validation code | by step | flows/s | flow p50 s | flow max s |',
      );
      out('|---|---|---|---|---|---|---|---|---|');
      out(
        `| ${done.filter(Boolean).length} / ${FLOWS} | ${outcomes.length} | ${invalid.length} | ` +
          `${((100 * invalid.length) / outcomes.length).toFixed(1)} % | ${codes} | ` +
          `${[...byStep].map(([st, n]) => `${st} ${n}`).join(', ') || '—'} | ${(FLOWS / seconds).toFixed(2)} | ` +
          `${(pct(lat, 50) / 1000).toFixed(1)} | ${(Math.max(...lat) / 1000).toFixed(1)} |`,
      );
      out('');
    }

    if (!PARTS.has('queries')) return;
    // Regulator queries over ≥ 100,000 permits in the indexer's schema.
    const total = await syntheticPermits(db, QUERY_ROWS);
    const reg = cast.clients.regulator;
    const shapes: [string, string][] = [
      ['site + state', '/v1/regulator/permits?site=site-7&state=active,suspended&limit=50'],
      ['type + level, sorted by applied_at', '/v1/regulator/permits?type=hot_work&level=2&sort=applied_at&order=desc&limit=50'],
      ['time range, page 20', `/v1/regulator/permits?from=${new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 19)}Z&limit=50&offset=1000`],
      ['no filter, newest first', '/v1/regulator/permits?limit=50'],
      ['KPIs', '/v1/regulator/kpis'],
    ];
    const measure = async (title: string) => {
      out(`## Regulator queries, ${total} permits in Postgres, ${QUERY_RUNS} runs each (sequential)${title}`);
      out('');
      out('| query | p50 ms | p99 ms |');
      out('|---|---|---|');
      for (const [name, url] of shapes) {
        const lat: number[] = [];
        for (let i = 0; i < 10; i++) await reg.get(url); // warm-up: plans, connections, JIT
        for (let i = 0; i < QUERY_RUNS; i++) {
          const t = performance.now();
          const r = await reg.get(url);
          if (r.status !== 200) throw new Error(`${name}: ${r.status} ${r.text}`);
          lat.push(performance.now() - t);
        }
        out(`| ${name} | ${pct(lat, 50).toFixed(1)} | ${pct(lat, 99).toFixed(1)} |`);
      }
      out('');
    };
    // The indexer's migration 007 indexes permits (applied_at), which the newest-first and
    // time-range listings need to stay under the 50 ms target.
    const c2 = new pg.Client({ connectionString: db });
    await c2.connect();
    await c2.query('VACUUM ANALYZE permits');
    await c2.end();
    await measure(', indexer schema (migrations 001-007)');
  } finally {
    await gw.close();
    await dropDatabase(db);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
