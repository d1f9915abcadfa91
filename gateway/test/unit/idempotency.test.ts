/** The idempotency store against real PostgreSQL (TEST_DATABASE_URL; skipped without it). */
import { expect } from 'chai';
import pg from 'pg';
import { IdempotencyStore } from '../../src/idempotency.js';
import { createDatabase, databaseUrl, dropDatabase } from '../support/env.js';

describe('gateway: idempotency store (PostgreSQL)', function () {
  let url: string | undefined;
  let pool: pg.Pool;
  let store: IdempotencyStore;

  before(async function () {
    if (!databaseUrl()) {
      this.test!.title += ' (skipped: TEST_DATABASE_URL is not set)';
      this.skip();
    }
    url = await createDatabase('gw_idem');
    pool = new pg.Pool({ connectionString: url });
    store = new IdempotencyStore(pool, 24, 5);
    await store.migrate();
    await store.migrate(); // idempotent
  });
  after(async () => {
    await pool?.end();
    await dropDatabase(url);
  });

  it('claims a new key, answers IN_PROGRESS while pending, replays the stored result', async () => {
    expect(await store.claim('enterprise/u1', 'key-0001', 'f1')).to.deep.equal({ kind: 'new' });
    try {
      await store.claim('enterprise/u1', 'key-0001', 'f1');
      expect.fail('claimed twice');
    } catch (e) {
      expect((e as { code: string }).code).to.equal('IDEMPOTENCY_IN_PROGRESS');
    }
    await store.complete('enterprise/u1', 'key-0001', 201, { body: { transactionId: 'abc' } });
    expect(await store.claim('enterprise/u1', 'key-0001', 'f1')).to.deep.equal({ kind: 'replay', status: 201, body: { body: { transactionId: 'abc' } } });
  });

  it('refuses the key for another request, scopes keys per user, and frees released keys', async () => {
    try {
      await store.claim('enterprise/u1', 'key-0001', 'f2');
      expect.fail('reused');
    } catch (e) {
      expect((e as { code: string; status: number }).code).to.equal('IDEMPOTENCY_KEY_REUSED');
    }
    expect(await store.claim('enterprise/u2', 'key-0001', 'f2')).to.deep.equal({ kind: 'new' });
    await store.release('enterprise/u2', 'key-0001');
    expect(await store.claim('enterprise/u2', 'key-0001', 'f3')).to.deep.equal({ kind: 'new' });
  });

  it('takes over a pending claim abandoned long ago (same request only), and purges expired records', async () => {
    await store.claim('enterprise/u3', 'key-stale', 'f1');
    await pool.query(`UPDATE gateway_idempotency SET created_at = now() - interval '1 hour' WHERE key = 'key-stale'`);
    expect(await store.claim('enterprise/u3', 'key-stale', 'f1')).to.deep.equal({ kind: 'new' });
    await pool.query(`UPDATE gateway_idempotency SET created_at = now() - interval '30 days'`);
    expect(await store.purgeExpired()).to.be.greaterThan(0);
    expect((await pool.query('SELECT count(*) FROM gateway_idempotency')).rows[0].count).to.equal('0');
  });

  it('answers STORE_UNAVAILABLE (503) when PostgreSQL is unreachable', async () => {
    const dead = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 1000 });
    try {
      await new IdempotencyStore(dead, 24, 9).claim('a/b', 'key-0002', 'f');
      expect.fail('claimed');
    } catch (e) {
      expect(e).to.include({ code: 'STORE_UNAVAILABLE', status: 503, retryAfterSeconds: 9 });
    } finally {
      await dead.end();
    }
  });
});
