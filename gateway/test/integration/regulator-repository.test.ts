/** The regulator's queries against a real PostgreSQL database the indexer never migrated (TEST_DATABASE_URL; skipped without it). */
import { expect } from 'chai';
import pg from 'pg';
import { RegulatorRepository } from '../../src/regulator-repository.js';
import { createDatabase, databaseUrl, dropDatabase } from '../support/env.js';

describe('gateway: regulator queries on a database without the indexer tables', () => {
  let url: string | undefined;
  let pool: pg.Pool;

  before(async function () {
    if (!databaseUrl()) {
      this.test!.title += ' (skipped: TEST_DATABASE_URL is not set)';
      this.skip();
    }
    url = await createDatabase('gw_nomirror');
    pool = new pg.Pool({ connectionString: url });
    // The teardown drops the database WITH (FORCE): a connection pool.end() has just closed can still
    // receive the server's "terminating connection" (uncaught: 1 run in 4 here at load 7-10).
    pool.on('error', () => undefined);
  });
  after(async () => {
    await pool?.end();
    await dropDatabase(url);
  });

  it('answers 503 STORE_UNAVAILABLE naming DATABASE_URL, not a 500', async () => {
    const repo = new RegulatorRepository(pool, 7);
    for (const query of [() => repo.transaction('f'.repeat(64)), () => repo.listPermits({ sort: 'applied_at', order: 'desc', limit: 10, offset: 0 })]) {
      const err = await query().then(
        () => expect.fail('the query should have failed'),
        (e: unknown) => e as { code: string; status: number; message: string; retryAfterSeconds: number },
      );
      expect([err.code, err.status, err.retryAfterSeconds]).to.deep.equal(['STORE_UNAVAILABLE', 503, 7]);
      expect(err.message).to.contain('no indexer tables').and.to.contain('DATABASE_URL');
    }
  });
});
