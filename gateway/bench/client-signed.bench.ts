/**
 * Benchmark (not part of `npm test`): permit:Apply throughput of client-signed submissions
 * (prepare → sign → endorse → sign → submit, the key held by the client) against custodial ones
 * (one POST, the gateway signs with the wallet key), in the same run, through the same enterprise
 * gateway (GATEWAY_ORG=enterprise). The two kinds alternate in BENCH_ROUNDS rounds so that drift of
 * a shared machine hits both. Goal: client-signed / custodial ≥ 0.9. Prints Markdown for
 * bench/RESULTS.md. Needs the network and TEST_DATABASE_URL.
 *
 *   BENCH_PERMITS=150 BENCH_CONCURRENCY=16 BENCH_ROUNDS=2 npm run bench:client-signed -w gateway
 */
import { submitClientSigned } from '../src/client-signing.js';
import { Client, createDatabase, dropDatabase, startTestGateway, uniqueId } from '../test/support/env.js';
import { applyBody, makeCast, registerCast } from '../test/support/scenario.js';
import { enrolKeyHolder, pct } from './support.js';

const PERMITS = Number(process.env.BENCH_PERMITS ?? 150);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

async function timed(n: number, fn: (i: number) => Promise<void>): Promise<{ seconds: number; lat: number[] }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await fn(i);
        lat.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, lat };
}

async function main(): Promise<void> {
  const db = await createDatabase('gw_bench_cs');
  const gw = await startTestGateway({ GATEWAY_ORG: 'enterprise', DATABASE_URL: db, GATEWAY_RATE_LIMIT_PER_WINDOW: '1000000', GATEWAY_OCR_ENABLED: '0' });
  try {
    const cast = await makeCast(new Client(gw.url));
    await registerCast(cast);
    const ca = gw.services.ledger.profile.organizations.enterprise.ca!;
    const { token: userToken, certificatePem, privateKeyPem } = await enrolKeyHolder(gw.url, ca, gw.services.config.FABRIC_CA_CLIENT!);

    const run = uniqueId('b');
    const custodial = async (i: number, round: number) => {
      const r = await cast.clients.applicant.post('/v1/permits', applyBody(cast, `BC-${run}-${round}-${i}`));
      if (r.status !== 201) throw new Error(`custodial apply: ${r.status} ${r.text}`);
    };
    const clientSigned = async (i: number, round: number) => {
      const r = await submitClientSigned({
        gatewayUrl: gw.url,
        token: userToken,
        certificatePem,
        privateKeyPem,
        transaction: 'permit:Apply',
        input: applyBody(cast, `BS-${run}-${round}-${i}`),
      });
      if (r.status !== 200) throw new Error(`client-signed apply: ${r.status} ${JSON.stringify(r.body)}`);
    };
    // Warm-up: connections, the custodial identity's enrolment, JIT.
    await timed(CONCURRENCY, (i) => custodial(i, -1));
    await timed(CONCURRENCY, (i) => clientSigned(i, -1));
    const totals = { custodial: { seconds: 0, lat: [] as number[] }, clientSigned: { seconds: 0, lat: [] as number[] } };
    const rows: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of round % 2 === 0 ? (['custodial', 'clientSigned'] as const) : (['clientSigned', 'custodial'] as const)) {
        const t = await timed(PERMITS, (i) => (kind === 'custodial' ? custodial(i, round) : clientSigned(i, round)));
        totals[kind].seconds += t.seconds;
        totals[kind].lat.push(...t.lat);
        rows.push(
          `| ${round + 1} | ${kind === 'custodial' ? 'custodial' : 'client-signed'} | ` +
            `${(PERMITS / t.seconds).toFixed(1)} | ${pct(t.lat, 50).toFixed(0)} | ${pct(t.lat, 99).toFixed(0)} |`,
        );
      }
    }
    const rate = (k: keyof typeof totals) => (PERMITS * ROUNDS) / totals[k].seconds;
    console.log(`permit:Apply, ${PERMITS} permits × ${ROUNDS} rounds per kind, concurrency ${CONCURRENCY}, one enterprise gateway (GATEWAY_ORG=enterprise)\n`);
    console.log('| round | kind | permits/s | p50 ms | p99 ms |\n|---|---|---|---|---|');
    for (const r of rows) console.log(r);
    console.log(
      `\ncustodial ${rate('custodial').toFixed(1)} permits/s (p50 ` +
        `${pct(totals.custodial.lat, 50).toFixed(0)} ms), client-signed ${rate('clientSigned').toFixed(1)} ` +
        `permits/s (p50 ${pct(totals.clientSigned.lat, 50).toFixed(0)} ms): **ratio ` +
        `${(rate('clientSigned') / rate('custodial')).toFixed(2)}** (goal ≥ 0.9)`,
    );
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
