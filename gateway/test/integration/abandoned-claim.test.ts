/**
 * A first request lost after its transaction was recorded on the Idempotency-Key, on the real
 * network: its process freezes (or dies) once the transaction went to the orderer, or just before,
 * or its store cannot take the result. The key stays `pending` with the transaction id; once that
 * claim is stale (its lease, renewed_at, is moved back past PENDING_LEASE_MS here), a replay with the key on
 * a fresh gateway is not run as new: it resolves the recorded transaction from the ledger — the
 * first request's result with the same transaction id, the permit written once — or, when that
 * transaction never reached the ledger, answers 503 until the release bound and then writes once.
 * And a transaction that could not be recorded is not submitted at all.
 */
import { expect } from 'chai';
import pg from 'pg';
import type { LedgerClient } from '../../src/ledger.js';
import type { RunningGateway } from '../../src/server.js';
import { Client, chainHeight, createDatabase, dropDatabase, type Reply, requireNetwork, scratchDir, startTestGateway } from '../support/env.js';
import { applyBody, type Cast, makeCast, registerCast, uniqueId } from '../support/scenario.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const never = new Promise<never>(() => undefined);

describe('gateway: a first request lost after its transaction was recorded on the key (real network)', function () {
  this.timeout(180_000);
  const RELEASE_MS = 3000;
  let fresh: RunningGateway;
  let db: string;
  let state: pg.Pool;
  let cast: Cast;
  let env: Record<string, string>;

  const row = async (key: string) =>
    (await state.query('SELECT state, status, transaction_id FROM gateway_idempotency WHERE key = $1', [key])).rows[0] as
      | { state: string; status: number | null; transaction_id: string | null }
      | undefined;
  /** As if the claim had been taken 11 minutes ago: past the bound after which a pending claim counts as abandoned. */
  const ageClaim = (key: string) =>
    state.query(`UPDATE gateway_idempotency SET created_at = now() - interval '11 minutes', renewed_at = now() - interval '11 minutes' WHERE key = $1`, [key]);
  const txIds = async (permitNo: string) => ({
    history: (await cast.clients.applicant.get(`/v1/permits/${permitNo}`)).body.history?.map((h: { txId: string }) => h.txId),
    versions: (await cast.clients.auditor.get(`/v1/permits/${permitNo}/history`)).body.versions?.map((v: { txId: string }) => v.txId),
  });

  /** A permit application of its own, under its own key; `send` posts it with that key, by default to the fresh gateway. */
  function newApplication(prefix: string) {
    const permitNo = uniqueId(prefix);
    const key = `${prefix.toLowerCase()}-apply-${permitNo}`;
    const body = applyBody(cast, permitNo);
    return { permitNo, key, send: (c: Client = cast.clients.applicant) => c.post('/v1/permits', body, { idem: key }) };
  }

  /** Sends while the store fails every update of a key that matches `when` (a trigger condition on OLD and NEW). */
  async function whileStoreRefuses(when: string, send: () => Promise<Reply>): Promise<Reply> {
    await state.query(`CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'store lost'; END $$`);
    await state.query(`CREATE TRIGGER refuse_update BEFORE UPDATE ON gateway_idempotency FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION refuse_update()`);
    try {
      const reply = await send();
      // The result is stored after the answer: the refusal must still be there when that is tried.
      await fresh.idempotency!.settled();
      return reply;
    } finally {
      await state.query('DROP TRIGGER refuse_update ON gateway_idempotency; DROP FUNCTION refuse_update()');
    }
  }

  /**
   * A gateway whose ledger submit stops for good at a point of the first request's life: `after`
   * the transaction was committed, or `before` the hand-over (right after it was recorded on the
   * key). `recorded` settles with the transaction id, `done` when the transaction is as far as it gets.
   */
  async function freezingGateway(at: 'after' | 'before') {
    const gw = await startTestGateway(env);
    const ledger: LedgerClient = gw.services.ledger;
    const real = ledger.submit.bind(ledger);
    let recorded!: (txId: string) => void;
    let done!: () => void;
    const seen = { recorded: new Promise<string>((r) => (recorded = r)), done: new Promise<void>((r) => (done = r)) };
    const frozenSubmit: LedgerClient['submit'] = async (id, tx, input, opts = {}) => {
      const beforeSubmit = async (txId: string) => {
        await opts.beforeSubmit!(txId);
        recorded(txId);
        if (at === 'before') {
          done();
          await never;
        }
      };
      try {
        await real(id, tx, input, { ...opts, beforeSubmit });
      } finally {
        done();
      }
      return never;
    };
    ledger.submit = frozenSubmit;
    return {
      ...seen,
      client: (c: Client) => c.at(gw.url),
      /** The process is gone: every connection cut, nothing of its state used again. */
      async kill() {
        gw.server.closeAllConnections();
        await gw.close();
      },
    };
  }

  /** Sends the first request, which never gets an answer: returns its transaction id once it got as far as it will. */
  async function lostFirstRequest(gw: Awaited<ReturnType<typeof freezingGateway>>, send: () => Promise<Reply>): Promise<string> {
    const outcome = send().then(
      (r) => `answered ${r.status} ${r.text}`,
      () => 'cut', // by kill()
    );
    const ended = outcome.then((o) => expect.fail(`the first request ended by itself: ${o}`));
    const txId = await Promise.race([gw.recorded, ended]);
    await Promise.race([gw.done, ended]);
    await gw.kill();
    expect(await outcome).to.equal('cut');
    return txId;
  }

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_abandoned');
    state = new pg.Pool({ connectionString: db });
    state.on('error', () => undefined); // dropDatabase cuts its idle connections at the end
    env = {
      GATEWAY_STATE_DATABASE_URL: db,
      GATEWAY_WALLET_DIR: scratchDir('gw-abandoned-wallet-'),
      GATEWAY_RETRY_AFTER_SECONDS: '2',
      GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS: String(RELEASE_MS),
      // The replays here must find the key as the first request left it, at once (the wait for a
      // running first request has its own test, idempotency.test.ts).
      GATEWAY_IDEMPOTENCY_REPLAY_WAIT_MS: '0',
    };
    fresh = await startTestGateway(env);
    cast = await makeCast(new Client(fresh.url));
    await registerCast(cast);
  });
  after(async () => {
    await fresh?.close();
    await state?.end();
    await dropDatabase(db);
  });

  it(
    'frozen after its transaction was committed: the key stays pending with the transaction ' +
      "id, and once stale a replay on a fresh gateway returns that transaction's 201, written " +
      'once',
    async () => {
      const { permitNo, key, send } = newApplication('FROZEN');
      const frozen = await freezingGateway('after');
      const txId = await lostFirstRequest(frozen, () => send(frozen.client(cast.clients.applicant)));
      expect(txId).to.match(/^[0-9a-f]{64}$/);
      expect(await row(key)).to.deep.equal({ state: 'pending', status: 201, transaction_id: txId });

      // Not stale yet: the first request might still be running.
      const early = await send();
      expect(early.status, early.text).to.equal(409);
      expect(early.body.error.code).to.equal('IDEMPOTENCY_IN_PROGRESS');

      await ageClaim(key);
      const height = await chainHeight();
      const replay = await send();
      expect(replay.status, replay.text).to.equal(201);
      expect(replay.headers.get('idempotent-replayed')).to.equal('true');
      expect(replay.body.transactionId).to.equal(txId);
      expect(replay.body.blockNumber).to.be.a('number').greaterThan(0);
      expect(replay.body.record).to.include({ permitNo, status: 'applied' });
      expect(await row(key)).to.deep.equal({ state: 'done', status: 201, transaction_id: txId });
      expect(await txIds(permitNo)).to.deep.equal({ history: [txId], versions: [txId] });

      const again = await send();
      expect(again.status).to.equal(201);
      expect(again.body).to.deep.equal(replay.body);
      expect(await chainHeight()).to.equal(height);
    },
  );

  it(
    'its store failing to take the result: the first request is answered, and a replay once ' + 'the claim is stale gets the same answer from the ledger',
    async () => {
      const { permitNo, key, send } = newApplication('NOSTORE');
      // The store accepts the claim and the transaction id, then fails every attempt to complete it.
      const first = await whileStoreRefuses(`NEW.state = 'done'`, send);
      expect(first.status, first.text).to.equal(201);
      const txId = first.body.transactionId as string;
      expect(await row(key)).to.deep.equal({ state: 'pending', status: 201, transaction_id: txId });

      await ageClaim(key);
      const replay = await send();
      expect(replay.status, replay.text).to.equal(201);
      expect(replay.headers.get('idempotent-replayed')).to.equal('true');
      expect(replay.body).to.deep.equal(first.body);
      expect(await txIds(permitNo)).to.deep.equal({ history: [txId], versions: [txId] });
    },
  );

  it(
    'frozen after recording but before the hand-over to the orderer: replays answer 503 with ' +
      'that transaction id until the release bound, then one runs as new and writes once',
    async () => {
      const { permitNo, key, send } = newApplication('UNSENT');
      const frozen = await freezingGateway('before');
      const lostTx = await lostFirstRequest(frozen, () => send(frozen.client(cast.clients.applicant)));
      expect(await row(key)).to.deep.equal({ state: 'pending', status: 201, transaction_id: lostTx });

      await ageClaim(key);
      const height = await chainHeight();
      const early = await send();
      expect(early.status, early.text).to.equal(503);
      expect(early.body.error.code).to.equal('LEDGER_UNAVAILABLE');
      expect(early.body.error.details.transactionId).to.equal(lostTx);
      expect(early.headers.get('retry-after')).to.equal('2');
      expect(await row(key)).to.deep.equal({ state: 'unknown', status: 201, transaction_id: lostTx });
      expect(await chainHeight()).to.equal(height);

      await sleep(RELEASE_MS + 200);
      const late = await send();
      expect(late.status, late.text).to.equal(201);
      expect(late.headers.get('idempotent-replayed')).to.equal(null);
      expect(late.body.transactionId)
        .to.match(/^[0-9a-f]{64}$/)
        .and.not.equal(lostTx);
      await fresh.idempotency!.settled();
      expect(await row(key)).to.deep.equal({ state: 'done', status: 201, transaction_id: late.body.transactionId });
      expect(await txIds(permitNo)).to.deep.equal({ history: [late.body.transactionId], versions: [late.body.transactionId] });
      expect((await cast.clients.auditor.get(`/v1/audit/transactions/${lostTx}`)).status).to.equal(404);
    },
  );

  it('a transaction id the store cannot record is never submitted: 503 STORE_UNAVAILABLE, the key released, nothing written', async () => {
    const { permitNo, key, send } = newApplication('NOREC');
    const height = await chainHeight();
    const refused = await whileStoreRefuses('OLD.transaction_id IS NULL AND NEW.transaction_id IS NOT NULL', send);
    expect(refused.status, refused.text).to.equal(503);
    expect(refused.body.error.code).to.equal('STORE_UNAVAILABLE');
    expect(refused.headers.get('retry-after')).to.equal('2');
    expect(await row(key)).to.equal(undefined);
    await sleep(1000); // a block would have been cut by now (the orderer batches for 250 ms)
    expect(await chainHeight()).to.equal(height);
    expect((await cast.clients.applicant.get(`/v1/permits/${permitNo}`)).status).to.equal(404);

    const retry = await send();
    expect(retry.status, retry.text).to.equal(201);
    expect(await txIds(permitNo)).to.deep.equal({ history: [retry.body.transactionId], versions: [retry.body.transactionId] });
  });
});
