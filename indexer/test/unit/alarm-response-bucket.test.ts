/**
 * Migration 016's response-time bucket (a lookup in a table) returns what migration 011's returned, for every value it
 * can meet: every value up to 20,000 ms, each bucket's least value and the one under it, and 20,000
 * values spread over the whole bigint range; on an in-memory PGlite and on PostgreSQL
 * (TEST_DATABASE_URL). The table of least values is what its name says under 011's definition, the
 * migration's own check finds a table one value off, the new body is inlined into queries, and
 * `down` restores 011's body.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { BUCKET_LEAST_MS, edgesDiffering, leastArray, numericBucket } from '../../src/migrations/016-alarm-response-bucket-table.js';
import { migrationSource } from '../../src/migrations/index.js';
import { createPglite, createTestDatabase, type TestDatabase } from '../support/database.js';

type Rows<T> = { rows: T[] };

for (const engine of ['pglite', 'postgres'] as const) {
  describe(`indexer: migration 016's response-time bucket from a table equals migration 011's (${engine})`, function () {
    this.timeout(180_000);
    let db: Knex;
    let pg: TestDatabase | undefined;

    before(async function () {
      if (engine === 'postgres') {
        if (!process.env.TEST_DATABASE_URL) {
          this.test!.title += ' (skipped: TEST_DATABASE_URL is not set)';
          this.skip();
        }
        pg = await createTestDatabase('bucket');
        db = pg.db;
      } else {
        db = await createPglite();
      }
    });
    after(async () => {
      if (pg) await pg.drop();
      else await db?.destroy();
    });

    const differing = async (values: string) =>
      (
        (await db.raw(`SELECT count(*)::int AS n, count(*) FILTER (WHERE alarm_response_bucket(v) <> (${numericBucket('v')}))::int AS differ,
                              min(v)::text AS lo, max(v)::text AS hi FROM (${values}) x(v)`)) as Rows<{ n: number; differ: number; lo: string; hi: string }>
      ).rows[0]!;

    it('every value from -5 to 20,000 ms', async () => {
      expect(await differing('SELECT g::bigint FROM generate_series(-5, 20000) g')).to.deep.equal({ n: 20006, differ: 0, lo: '-5', hi: '20000' });
    });

    it("each bucket's least value and the one under it, up to the largest bigint", async () => {
      const edges = `SELECT DISTINCT t + d FROM unnest(${leastArray()}) t, generate_series(-1, 1) d
                      WHERE t + d::numeric <= 9223372036854775807`;
      const r = await differing(edges);
      expect(r.differ).to.equal(0);
      expect(r.n, 'the edges of 253 buckets').to.be.greaterThan(600);
      expect(r.hi, 'the value after the last least value').to.equal(String(BigInt(BUCKET_LEAST_MS[252]!) + 1n));
    });

    it('20,000 values spread evenly over the logarithm of the whole range', async () => {
      const r = await differing('SELECT floor(power(2::float8, g * 62.99 / 20000))::bigint FROM generate_series(0, 20000) g');
      expect(r.differ).to.equal(0);
      expect(BigInt(r.hi) > 2n ** 62n, `reaches past 2^62: ${r.hi}`).to.equal(true);
    });

    it("each entry of the table is the least value whose 011 bucket is its index or more; a table one value off fails the migration's check", async () => {
      const { rows } = (await db.raw(
        `SELECT k::int, (${numericBucket('t')}) AS at_least, CASE WHEN t > 1 THEN (${numericBucket('t - 1')}) END AS under
           FROM unnest(${leastArray()}) WITH ORDINALITY u(t, k1), LATERAL (SELECT k1 - 1) z(k)`,
      )) as Rows<{ k: number; at_least: number; under: number | null }>;
      expect(rows).to.have.length(253);
      for (const r of rows) {
        expect(r.at_least, `bucket ${r.k}: its least value is in it or a later one`).to.be.at.least(r.k);
        if (r.under !== null) expect(r.under, `bucket ${r.k}: the value under its least is in an earlier one`).to.be.lessThan(r.k);
      }
      expect(await edgesDiffering(db)).to.deep.include({ differ: 0 });
      for (const k of [10, 120, 230]) {
        const off = BUCKET_LEAST_MS.map((t, i) => (i === k ? String(BigInt(t) + 1n) : t));
        expect((await edgesDiffering(db, off)).differ, `bucket ${k}'s least value one too high`).to.be.greaterThan(0);
      }
    });

    it('is inlined into the statements that call it (no function call per row), and the KPIs still find the alarms of a bucket by its index', async () => {
      const plan = (
        (await db.raw('EXPLAIN (VERBOSE) SELECT alarm_response_bucket(g::bigint) FROM generate_series(1, 3) g')) as Rows<{ 'QUERY PLAN': string }>
      ).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n');
      expect(plan).to.not.contain('alarm_response_bucket');
      expect(plan, 'the body in its place').to.contain('width_bucket(');
      await db.raw('SET enable_seqscan = off');
      try {
        const p90Plan = (
          (await db.raw('EXPLAIN SELECT response_ms FROM alarms WHERE response_ms IS NOT NULL AND alarm_response_bucket(response_ms) = 40')) as Rows<{
            'QUERY PLAN': string;
          }>
        ).rows
          .map((r) => r['QUERY PLAN'])
          .join('\n');
        expect(p90Plan).to.contain('alarms_response_bucket_index');
      } finally {
        await db.raw('RESET enable_seqscan');
      }
    });

    if (engine === 'pglite')
      it("down restores 011's numeric body; up replaces it again", async () => {
        const body = async () =>
          ((await db.raw(`SELECT prosrc FROM pg_proc WHERE proname = 'alarm_response_bucket'`)) as Rows<{ prosrc: string }>).rows[0]!.prosrc;
        expect(await body()).to.contain('width_bucket(');
        expect(await body()).to.not.contain('numeric');
        // Down to 015: every migration after 016 first, then 016 itself.
        const applied = async () => ((await db.migrate.list({ migrationSource })) as [{ name: string }[], unknown[]])[0].map((m) => m.name);
        while ((await applied()).includes('016-alarm-response-bucket-table')) await db.migrate.down({ migrationSource });
        expect(await body()).to.contain('numeric');
        expect(await differing('SELECT g::bigint FROM generate_series(1, 2000) g')).to.deep.include({ differ: 0 });
        await db.migrate.latest({ migrationSource });
        expect(await body()).to.contain('width_bucket(');
      });
  });
}
