/**
 * Fills the channel with permit trails for the archive benchmarks (month-archive.bench.ts): each
 * permit has a cast of its own (workers, certificates, a device) and is taken through the API from
 * application to start (scenario.startPermit: about 20 transactions). Not a benchmark itself.
 *
 *   BENCH_PERMITS=60 BENCH_CONCURRENCY=4 npx tsx bench/seed-permits.ts      (from gateway/)
 */
import { Client, createDatabase, dropDatabase, startTestGateway } from '../test/support/env.js';
import { makeCast, registerCast, startPermit, uniqueId } from '../test/support/scenario.js';

const PERMITS = Number(process.env.BENCH_PERMITS ?? 60);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
// The gateway keeps idempotency keys in PostgreSQL (TEST_DATABASE_URL): a database of its own.
const db = await createDatabase('bench_seed');
const gw = await startTestGateway({ DATABASE_URL: db });
try {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < PERMITS) {
        next++;
        const cast = await makeCast(new Client(gw.url));
        await registerCast(cast);
        await startPermit(cast, uniqueId('HWK'));
      }
    }),
  );
  console.log(`${PERMITS} permits started in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
} finally {
  await gw.close();
  await dropDatabase(db);
}
