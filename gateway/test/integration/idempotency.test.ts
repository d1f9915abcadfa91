/** The idempotency store against real PostgreSQL (TEST_DATABASE_URL; skipped without it). */
import { expect } from 'chai';
import pg from 'pg';
import { IdempotencyStore } from '../../src/idempotency.js';
import { createDatabase, databaseUrl, dropDatabase } from '../support/env.js';

/**
 * DROP DATABASE … WITH (FORCE) at teardown terminates the database's sessions (57P01); a pool that
 * still holds one reports it as an 'error' event, which without a listener is an uncaught error in
 * whatever hook runs. Only that termination is expected here.
 */
function expectTeardownTermination(pool: pg.Pool): pg.Pool {
  pool.on('error', (e: Error & { code?: string }) => {
    if (e.code !== '57P01') throw e;
  });
  return pool;
}

describe('gateway: idempotency store (PostgreSQL)', () => {
  let url: string | undefined;
  let pool: pg.Pool;
  let store: IdempotencyStore;

  before(async function () {
    if (!databaseUrl()) {
      this.test!.title += ' (skipped: TEST_DATABASE_URL is not set)';
      this.skip();
    }
    url = await createDatabase('gw_idem');
    pool = expectTeardownTermination(new pg.Pool({ connectionString: url }));
    store = new IdempotencyStore(pool, 24, 5, 60_000);
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

  it('a claim whose request still runs keeps its lease (renewHeld); once its process stops renewing, the next request takes it over', async () => {
    const age = () => pool.query(`UPDATE gateway_idempotency SET renewed_at = now() - interval '1 minute' WHERE key = 'key-lease'`);
    expect(await store.claim('enterprise/u5', 'key-lease', 'f1')).to.deep.equal({ kind: 'new' });
    store.hold('enterprise/u5', 'key-lease');
    await age();
    await store.renewHeld();
    const refused = await store.claim('enterprise/u5', 'key-lease', 'f1').then(
      () => 'claimed twice',
      (e: { code: string }) => e.code,
    );
    expect(refused).to.equal('IDEMPOTENCY_IN_PROGRESS');
    // The request ended without a word to the store (its process died, or PostgreSQL did): no renewal.
    store.letGo('enterprise/u5', 'key-lease');
    await store.renewHeld();
    await age();
    expect(await store.claim('enterprise/u5', 'key-lease', 'f1')).to.deep.equal({ kind: 'new' });
  });

  it('takes over a pending claim abandoned long ago (same request only), and purges expired records', async () => {
    await store.claim('enterprise/u3', 'key-stale', 'f1');
    await pool.query(`UPDATE gateway_idempotency SET created_at = now() - interval '1 hour', renewed_at = now() - interval '1 hour' WHERE key = 'key-stale'`);
    expect(await store.claim('enterprise/u3', 'key-stale', 'f1')).to.deep.equal({ kind: 'new' });
    await pool.query(`UPDATE gateway_idempotency SET created_at = now() - interval '30 days'`);
    expect(await store.purgeExpired()).to.be.greaterThan(0);
    expect((await pool.query('SELECT count(*) FROM gateway_idempotency')).rows[0].count).to.equal('0');
  });

  const ageUnknown = (key: string, ms: number) =>
    pool.query(`UPDATE gateway_idempotency SET completed_at = now() - ($2 || ' milliseconds')::interval WHERE key = $1`, [key, String(ms)]);
  const row = async (key: string) => (await pool.query('SELECT state, status, body, transaction_id FROM gateway_idempotency WHERE key = $1', [key])).rows[0];

  it('keeps a key whose commit status was lost as unknown with its transaction id: not released, not replayed, not reusable for another request', async () => {
    expect(await store.claim('enterprise/u4', 'key-lost-1', 'f1')).to.deep.equal({ kind: 'new' });
    await store.markUnknown('enterprise/u4', 'key-lost-1', 'tx-1', 201);
    expect(await row('key-lost-1')).to.deep.equal({ state: 'unknown', status: 201, body: null, transaction_id: 'tx-1' });
    await store.release('enterprise/u4', 'key-lost-1');
    expect(await store.claim('enterprise/u4', 'key-lost-1', 'f1')).to.deep.equal({ kind: 'unknown', transactionId: 'tx-1', status: 201, releasable: false });
    try {
      await store.claim('enterprise/u4', 'key-lost-1', 'f2');
      expect.fail('reused');
    } catch (e) {
      expect((e as { code: string }).code).to.equal('IDEMPOTENCY_KEY_REUSED');
    }
    // Only a pending claim becomes unknown: a stored answer is never reopened.
    await store.claim('enterprise/u4', 'key-done-1', 'f1');
    await store.complete('enterprise/u4', 'key-done-1', 200, { body: { ok: true } });
    await store.markUnknown('enterprise/u4', 'key-done-1', 'tx-x', 200);
    expect((await row('key-done-1')).state).to.equal('done');
  });

  it('stores the outcome found for an unknown key as done, once, and only for the transaction id it names', async () => {
    await store.claim('enterprise/u5', 'key-lost-2', 'f1');
    await store.markUnknown('enterprise/u5', 'key-lost-2', 'tx-2', 200);
    expect(await store.resolve('enterprise/u5', 'key-lost-2', 'tx-other', 200, { body: {} })).to.equal(false);
    expect(await store.resolve('enterprise/u5', 'key-lost-2', 'tx-2', 200, { body: { transactionId: 'tx-2' } })).to.equal(true);
    expect(await store.resolve('enterprise/u5', 'key-lost-2', 'tx-2', 409, { body: { error: {} } })).to.equal(false);
    expect(await store.claim('enterprise/u5', 'key-lost-2', 'f1')).to.deep.equal({ kind: 'replay', status: 200, body: { body: { transactionId: 'tx-2' } } });
  });

  it('releases an unknown key only past the bound and only to one taker, as a new pending claim', async () => {
    await store.claim('enterprise/u6', 'key-lost-3', 'f1');
    await store.markUnknown('enterprise/u6', 'key-lost-3', 'tx-3', 201);
    expect(await store.takeOver('enterprise/u6', 'key-lost-3', 'tx-3')).to.equal(false);
    await ageUnknown('key-lost-3', 61_000);
    expect(await store.claim('enterprise/u6', 'key-lost-3', 'f1')).to.deep.equal({ kind: 'unknown', transactionId: 'tx-3', status: 201, releasable: true });
    expect(await store.takeOver('enterprise/u6', 'key-lost-3', 'tx-other')).to.equal(false);
    const takers = await Promise.all([1, 2, 3].map(() => store.takeOver('enterprise/u6', 'key-lost-3', 'tx-3')));
    expect(takers.filter(Boolean)).to.have.length(1);
    expect(await row('key-lost-3')).to.deep.equal({ state: 'pending', status: null, body: null, transaction_id: null });
    try {
      await store.claim('enterprise/u6', 'key-lost-3', 'f1');
      expect.fail('claimed twice');
    } catch (e) {
      expect((e as { code: string }).code).to.equal('IDEMPOTENCY_IN_PROGRESS');
    }
    // The taker's own outcome may be lost again, under a new transaction id.
    await store.markUnknown('enterprise/u6', 'key-lost-3', 'tx-3b', 201);
    expect(await store.claim('enterprise/u6', 'key-lost-3', 'f1')).to.deep.equal({ kind: 'unknown', transactionId: 'tx-3b', status: 201, releasable: false });
  });

  const agePending = (key: string) =>
    pool.query(`UPDATE gateway_idempotency SET created_at = now() - interval '11 minutes', renewed_at = now() - interval '11 minutes' WHERE key = $1`, [key]);
  const expectInProgress = async (claim: Promise<unknown>) => {
    try {
      await claim;
      expect.fail('claimed twice');
    } catch (e) {
      expect((e as { code: string }).code).to.equal('IDEMPOTENCY_IN_PROGRESS');
    }
  };

  it('records the transaction on the pending claim once, before it is submitted; the claim stays in progress', async () => {
    await store.claim('enterprise/u7', 'key-rec-1', 'f1');
    expect(await store.recordTransaction('enterprise/u7', 'key-rec-1', 'tx-7', 201)).to.equal(true);
    expect(await row('key-rec-1')).to.deep.equal({ state: 'pending', status: 201, body: null, transaction_id: 'tx-7' });
    // One transaction per claim: a second one (or another request's) is refused.
    expect(await store.recordTransaction('enterprise/u7', 'key-rec-1', 'tx-7b', 201)).to.equal(false);
    await expectInProgress(store.claim('enterprise/u7', 'key-rec-1', 'f1'));
    // Only the request that recorded the transaction completes or frees the claim.
    await store.complete('enterprise/u7', 'key-rec-1', 201, { body: { wrong: true } });
    await store.release('enterprise/u7', 'key-rec-1');
    await store.release('enterprise/u7', 'key-rec-1', 'tx-7b');
    expect(await row('key-rec-1')).to.deep.include({ state: 'pending', transaction_id: 'tx-7' });
    await store.complete('enterprise/u7', 'key-rec-1', 201, { body: { transactionId: 'tx-7' } }, 'tx-7');
    expect(await store.claim('enterprise/u7', 'key-rec-1', 'f1')).to.deep.equal({ kind: 'replay', status: 201, body: { body: { transactionId: 'tx-7' } } });
    // A stored answer or an unknown key takes no transaction.
    expect(await store.recordTransaction('enterprise/u7', 'key-rec-1', 'tx-7c', 201)).to.equal(false);
    expect(await store.recordTransaction('enterprise/u7', 'key-absent', 'tx-7d', 201)).to.equal(false);

    // A submit refused for good frees the claim that names its transaction.
    await store.claim('enterprise/u7', 'key-rec-2', 'f1');
    await store.recordTransaction('enterprise/u7', 'key-rec-2', 'tx-8', 200);
    await store.release('enterprise/u7', 'key-rec-2', 'tx-8');
    expect(await row('key-rec-2')).to.equal(undefined);
    // A lost outcome keeps the transaction it recorded.
    await store.claim('enterprise/u7', 'key-rec-3', 'f1');
    await store.recordTransaction('enterprise/u7', 'key-rec-3', 'tx-9', 200);
    await store.markUnknown('enterprise/u7', 'key-rec-3', 'tx-other', 200);
    expect((await row('key-rec-3')).state).to.equal('pending');
    await store.markUnknown('enterprise/u7', 'key-rec-3', 'tx-9', 200);
    expect(await store.claim('enterprise/u7', 'key-rec-3', 'f1')).to.deep.equal({ kind: 'unknown', transactionId: 'tx-9', status: 200, releasable: false });
  });

  it('a replay to another gateway waits for the outcome of a first request that submitted its transaction, and only that long', async () => {
    // Two gateways of one org on one store: `first` runs the request, `other` gets the client's retry.
    const other = new IdempotencyStore(pool, 24, 5, 60_000, 1_000);
    await store.claim('enterprise/u9', 'key-wait-1', 'f1');
    await store.recordTransaction('enterprise/u9', 'key-wait-1', 'tx-w1', 201);
    const started = Date.now();
    const replay = other.claim('enterprise/u9', 'key-wait-1', 'f1');
    await new Promise((r) => setTimeout(r, 300));
    await store.complete('enterprise/u9', 'key-wait-1', 201, { body: { transactionId: 'tx-w1' } }, 'tx-w1');
    expect(await replay).to.deep.equal({ kind: 'replay', status: 201, body: { body: { transactionId: 'tx-w1' } } });
    expect(Date.now() - started).to.be.within(300, 1_000);

    // No outcome within the bound: 409, after the bound.
    await store.claim('enterprise/u9', 'key-wait-2', 'f1');
    await store.recordTransaction('enterprise/u9', 'key-wait-2', 'tx-w2', 201);
    const t2 = Date.now();
    await expectInProgress(other.claim('enterprise/u9', 'key-wait-2', 'f1'));
    expect(Date.now() - t2).to.be.at.least(1_000);

    // A first request that has not submitted anything may run for long (an upload): 409 at once.
    await store.claim('enterprise/u9', 'key-wait-3', 'f1');
    const t3 = Date.now();
    await expectInProgress(other.claim('enterprise/u9', 'key-wait-3', 'f1'));
    expect(Date.now() - t3).to.be.below(500);
  });

  it('groups the claims, transaction records and results of requests that arrive together, each request getting its own answer', async () => {
    const scope = 'enterprise/u-batch';
    const keys = Array.from({ length: 60 }, (_, i) => `key-batch-${String(i).padStart(3, '0')}`);
    const before = store.batchStats();
    const grown = (kind: 'claim' | 'recordTransaction' | 'complete') => ({
      statements: store.batchStats()[kind].statements - before[kind].statements,
      items: store.batchStats()[kind].items - before[kind].items,
    });
    // Every key once, and the first five a second time in the same tick (a client's retry beside its first request).
    const claims = await Promise.allSettled([...keys, ...keys.slice(0, 5)].map((k) => store.claim(scope, k, `f-${k}`)));
    const outcomes = claims.map((c) => (c.status === 'fulfilled' ? c.value.kind : (c.reason as { code: string }).code));
    for (const k of keys) {
      const mine = outcomes.filter((_, i) => [...keys, ...keys.slice(0, 5)][i] === k);
      expect(
        mine.filter((o) => o === 'new'),
        k,
      ).to.have.length(1);
      expect(
        mine.filter((o) => o !== 'new').every((o) => o === 'IDEMPOTENCY_IN_PROGRESS'),
        k,
      ).to.equal(true);
    }
    expect(grown('claim').statements, 'statements of 65 claims at once').to.be.lessThan(20);

    // Each claim takes one transaction: the second record of the first five keys is refused, whichever statement carried it.
    const recorded = await Promise.all([...keys, ...keys.slice(0, 5)].map((k, i) => store.recordTransaction(scope, k, `tx-${k}-${i < 60 ? 'a' : 'b'}`, 201)));
    expect(recorded.slice(0, 60).every(Boolean)).to.equal(true);
    expect(recorded.slice(60)).to.deep.equal([false, false, false, false, false]);
    expect(grown('recordTransaction').statements).to.be.lessThan(20);
    expect(await row('key-batch-003')).to.deep.include({ transaction_id: 'tx-key-batch-003-a', state: 'pending' });

    // Each result lands on its own key, and only with the transaction that key recorded.
    await Promise.all([
      ...keys.map((k) => store.complete(scope, k, 201, { body: { key: k } }, `tx-${k}-a`)),
      store.complete(scope, 'key-batch-059', 201, { body: { wrong: true } }, 'tx-key-batch-059-b'),
    ]);
    expect(grown('complete').statements).to.be.lessThan(20);
    const replays = await Promise.all(keys.map((k) => store.claim(scope, k, `f-${k}`)));
    replays.forEach((r, i) => {
      expect(r, keys[i]).to.deep.equal({ kind: 'replay', status: 201, body: { body: { key: keys[i] } } });
    });
  });

  it('stores a result beside its answer: a replay sent at once gets it, a failure is reported, settled() waits for both', async () => {
    const scope = 'enterprise/u-after';
    for (const k of ['key-after-0', 'key-after-1']) {
      await store.claim(scope, k, 'f1');
      await store.recordTransaction(scope, k, `tx-${k}`, 201);
    }
    // Another request's result held up in PostgreSQL (its row locked): the next results wait behind it.
    const blocker = await pool.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM gateway_idempotency WHERE key = 'key-after-0' FOR UPDATE`);
    const fail = (e: unknown) => {
      throw e;
    };
    const first = store.completeAfterAnswer(scope, 'key-after-0', 201, { body: { ok: 0 } }, 'tx-key-after-0', fail);
    const storing = store.completeAfterAnswer(scope, 'key-after-1', 201, { body: { ok: 1 } }, 'tx-key-after-1', fail);
    setTimeout(() => void blocker.query('COMMIT').finally(() => blocker.release()), 300);
    // Not awaited: the client replays as soon as it has the answer, and gets it, not IDEMPOTENCY_IN_PROGRESS.
    expect(await store.claim(scope, 'key-after-1', 'f1')).to.deep.equal({ kind: 'replay', status: 201, body: { body: { ok: 1 } } });
    await Promise.all([first, storing]);

    await store.claim(scope, 'key-after-2', 'f1');
    await store.recordTransaction(scope, 'key-after-2', 'tx-after-2', 201);
    const failures: unknown[] = [];
    // A body JSON cannot hold: the store refuses it, and the key keeps its transaction for replays to resolve.
    void store.completeAfterAnswer(scope, 'key-after-2', 201, { body: { n: 1n } }, 'tx-after-2', (e) => failures.push(e));
    await store.settled();
    expect(failures).to.have.length(1);
    expect(await row('key-after-2')).to.deep.include({ state: 'pending', transaction_id: 'tx-after-2' });
  });

  it(
    'turns a stale pending claim that names a transaction into an unknown key (never taken ' + 'over blindly); its late first request changes nothing',
    async () => {
      await store.claim('enterprise/u8', 'key-crash-1', 'f1');
      await store.recordTransaction('enterprise/u8', 'key-crash-1', 'tx-10', 201);
      await expectInProgress(store.claim('enterprise/u8', 'key-crash-1', 'f1'));
      await agePending('key-crash-1');
      try {
        await store.claim('enterprise/u8', 'key-crash-1', 'f2');
        expect.fail('reused');
      } catch (e) {
        expect((e as { code: string }).code).to.equal('IDEMPOTENCY_KEY_REUSED');
      }
      expect((await row('key-crash-1')).state).to.equal('pending');
      const claims = await Promise.all([1, 2, 3].map(() => store.claim('enterprise/u8', 'key-crash-1', 'f1')));
      for (const c of claims) expect(c).to.deep.equal({ kind: 'unknown', transactionId: 'tx-10', status: 201, releasable: false });
      expect(await row('key-crash-1')).to.deep.equal({ state: 'unknown', status: 201, body: null, transaction_id: 'tx-10' });
      // The first request, were it alive after all, can no longer answer for the key: replays do, from the ledger.
      await store.complete('enterprise/u8', 'key-crash-1', 201, { body: { late: true } }, 'tx-10');
      await store.release('enterprise/u8', 'key-crash-1', 'tx-10');
      expect((await row('key-crash-1')).state).to.equal('unknown');
      expect(await store.resolve('enterprise/u8', 'key-crash-1', 'tx-10', 201, { body: { transactionId: 'tx-10' } })).to.equal(true);
      expect(await store.claim('enterprise/u8', 'key-crash-1', 'f1')).to.deep.equal({
        kind: 'replay',
        status: 201,
        body: { body: { transactionId: 'tx-10' } },
      });
    },
  );

  it('releases such a key, like any unknown one, only past the release bound counted from when it was found stale', async () => {
    await store.claim('enterprise/u9', 'key-crash-2', 'f1');
    await store.recordTransaction('enterprise/u9', 'key-crash-2', 'tx-11', 200);
    await agePending('key-crash-2');
    expect(await store.claim('enterprise/u9', 'key-crash-2', 'f1')).to.include({ kind: 'unknown', releasable: false });
    expect(await store.takeOver('enterprise/u9', 'key-crash-2', 'tx-11')).to.equal(false);
    await ageUnknown('key-crash-2', 61_000);
    expect(await store.claim('enterprise/u9', 'key-crash-2', 'f1')).to.deep.equal({ kind: 'unknown', transactionId: 'tx-11', status: 200, releasable: true });
    expect(await store.takeOver('enterprise/u9', 'key-crash-2', 'tx-11')).to.equal(true);
    expect(await row('key-crash-2')).to.deep.equal({ state: 'pending', status: null, body: null, transaction_id: null });
    // The taker submits under a transaction of its own.
    expect(await store.recordTransaction('enterprise/u9', 'key-crash-2', 'tx-11b', 200)).to.equal(true);
  });

  it('still takes over a stale pending claim that never named a transaction (it submitted nothing)', async () => {
    await store.claim('enterprise/u10', 'key-crash-3', 'f1');
    await agePending('key-crash-3');
    expect(await store.claim('enterprise/u10', 'key-crash-3', 'f1')).to.deep.equal({ kind: 'new' });
    // The abandoned request cannot record a transaction under the new claim after the taker did.
    expect(await store.recordTransaction('enterprise/u10', 'key-crash-3', 'tx-12', 201)).to.equal(true);
    expect(await store.recordTransaction('enterprise/u10', 'key-crash-3', 'tx-12-late', 201)).to.equal(false);
    expect((await row('key-crash-3')).transaction_id).to.equal('tx-12');
  });

  it('widens the state check of a table created before the unknown state', async () => {
    const oldUrl = await createDatabase('gw_idem_old');
    const old = expectTeardownTermination(new pg.Pool({ connectionString: oldUrl }));
    try {
      await old.query(`CREATE TABLE gateway_idempotency (scope text NOT NULL, key text NOT NULL, fingerprint text NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'done')), status integer, body jsonb,
        created_at timestamptz NOT NULL DEFAULT now(), completed_at timestamptz, PRIMARY KEY (scope, key))`);
      await old.query(
        `INSERT INTO gateway_idempotency (scope, key, fingerprint, state, status, body) VALUES ('a/b', 'key-old-1', 'f', 'done', 201, '{"body":{}}')`,
      );
      const s = new IdempotencyStore(old, 24, 5, 60_000);
      await s.migrate();
      await s.migrate();
      await s.claim('a/b', 'key-new-1', 'f');
      await s.markUnknown('a/b', 'key-new-1', 'tx-9', 201);
      expect(await s.claim('a/b', 'key-new-1', 'f')).to.include({ kind: 'unknown', transactionId: 'tx-9' });
      expect(await s.claim('a/b', 'key-old-1', 'f')).to.deep.equal({ kind: 'replay', status: 201, body: { body: {} } });
      try {
        await old.query(`UPDATE gateway_idempotency SET state = 'bogus'`);
        expect.fail('the check is gone');
      } catch (e) {
        expect((e as { code: string }).code).to.equal('23514');
      }
    } finally {
      await old.end();
      await dropDatabase(oldUrl);
    }
  });

  it('answers STORE_UNAVAILABLE (503) when PostgreSQL is unreachable, to a claim and to recording a transaction', async () => {
    const dead = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 1000 });
    const deadStore = new IdempotencyStore(dead, 24, 9, 60_000);
    try {
      for (const attempt of [() => deadStore.claim('a/b', 'key-0002', 'f'), () => deadStore.recordTransaction('a/b', 'key-0002', 'tx', 201)]) {
        try {
          await attempt();
          expect.fail('stored');
        } catch (e) {
          expect(e).to.include({ code: 'STORE_UNAVAILABLE', status: 503, retryAfterSeconds: 9 });
        }
      }
    } finally {
      await dead.end();
    }
  });

  it('lets gateways that share a fresh database create the table at once, none failing (42P07 before the advisory lock)', async () => {
    const fresh = await createDatabase('gw_idem_race');
    // One pool per gateway, as separate processes have; eight at once made the race certain without the lock.
    const pools = Array.from({ length: 8 }, () => expectTeardownTermination(new pg.Pool({ connectionString: fresh, max: 1 })));
    try {
      const results = await Promise.allSettled(pools.map((p) => new IdempotencyStore(p, 24, 5, 60_000).migrate()));
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
      expect(failures).to.deep.equal([]);
      const columns = await pools[0]!.query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'gateway_idempotency'`);
      expect(columns.rows[0].n).to.equal(10);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await dropDatabase(fresh);
    }
  });
});
