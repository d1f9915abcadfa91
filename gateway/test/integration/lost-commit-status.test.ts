/**
 * A write whose transaction was ordered but whose commit status never reached the gateway, on the
 * real network: a gateway with a 1 ms commit deadline gives up on every status before the block
 * is cut (the orderer batches for 250 ms), so each write is ordered and committed but answered 503.
 * The idempotency key stays `unknown`; replays with it resolve the outcome from the peer (qscc):
 * the real result with the same transaction id, the CONFLICT of an invalid transaction, or 503
 * while the peer does not have it, until the release bound frees the key (nothing was written).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { requestFingerprint } from '../../src/http.js';
import { permitLedgerHistorySchema } from '../../src/routes/enterprise.js';
import type { RunningGateway } from '../../src/server.js';
import {
  Client,
  chainHeight,
  createDatabase,
  dropDatabase,
  profilePath,
  type Reply,
  requireNetwork,
  scratchDir,
  startTestGateway,
  token,
  workerId,
} from '../support/env.js';
import { applyBody, type Cast, makeCast, registerCast, uniqueId } from '../support/scenario.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gateway: a write whose commit status was lost (real network)', function () {
  this.timeout(180_000);
  let good: RunningGateway;
  let lossy: RunningGateway;
  let db: string;
  let state: pg.Pool;
  let cast: Cast;
  let lossyCast: Cast['clients'];
  let walletDir: string;

  const row = async (key: string) =>
    (await state.query('SELECT state, status, transaction_id, body FROM gateway_idempotency WHERE key = $1', [key])).rows[0] as
      | { state: string; status: number; transaction_id: string | null; body: unknown }
      | undefined;

  /** Replays until the answer is no longer the 503 of a transaction not yet on the peer. */
  async function replayUntilSettled(send: () => Promise<Reply>, txId: string): Promise<{ reply: Reply; pending: number }> {
    const deadline = Date.now() + 30_000;
    for (let pending = 0; ; pending++) {
      const r = await send();
      if (r.status !== 503) return { reply: r, pending };
      expect(r.body.error.code, r.text).to.equal('LEDGER_UNAVAILABLE');
      expect(r.body.error.details.transactionId).to.equal(txId);
      expect(r.headers.get('retry-after')).to.equal('2');
      if (Date.now() > deadline) expect.fail(`transaction ${txId} never showed up on the peer`);
      await sleep(200);
    }
  }

  function expectLost(r: Reply): string {
    expect(r.status, r.text).to.equal(503);
    expect(r.body.error.code).to.equal('LEDGER_UNAVAILABLE');
    expect(r.headers.get('retry-after')).to.equal('2');
    const txId = r.body.error.details.transactionId as string;
    expect(txId).to.match(/^[0-9a-f]{64}$/);
    return txId;
  }

  before(async function () {
    requireNetwork(this);
    walletDir = scratchDir('gw-lost-wallet-');
    db = await createDatabase('gw_lost');
    state = new pg.Pool({ connectionString: db });
    state.on('error', () => undefined); // dropDatabase cuts its idle connections at the end
    const common = { GATEWAY_STATE_DATABASE_URL: db, GATEWAY_WALLET_DIR: walletDir, GATEWAY_RETRY_AFTER_SECONDS: '2' };
    good = await startTestGateway(common);
    // The bound is far away here: these keys must be resolved from the ledger, never released.
    lossy = await startTestGateway({ ...common, GATEWAY_COMMIT_TIMEOUT_MS: '1', GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS: '600000' });
    cast = await makeCast(new Client(good.url));
    lossyCast = Object.fromEntries(Object.entries(cast.clients).map(([k, c]) => [k, c.at(lossy.url)])) as Cast['clients'];
    // Enrol every user first, so concurrent writes below are not spread apart by enrolment.
    for (const c of Object.values(lossyCast)) expect((await c.get('/v1/permits/NONE-1')).status).to.equal(404);
    await registerCast(cast);
  });
  after(async () => {
    await lossy?.close();
    await good?.close();
    await state?.end();
    await dropDatabase(db);
  });

  let permitNo: string;
  let applied: { transactionId: string; blockNumber: number; record: { history: { txId: string }[] } };

  it('answers 503 with the transaction id, keeps the key unknown, and a replay returns the real 201 with the same transaction, written once', async () => {
    permitNo = uniqueId('LOST');
    const key = `lost-apply-${permitNo}`;
    const body = applyBody(cast, permitNo);
    const first = await lossyCast.applicant.post('/v1/permits', body, { idem: key });
    const txId = expectLost(first);
    expect(await row(key)).to.deep.include({ state: 'unknown', status: 201, transaction_id: txId });

    const { reply } = await replayUntilSettled(() => lossyCast.applicant.post('/v1/permits', body, { idem: key }), txId);
    expect(reply.status, reply.text).to.equal(201);
    expect(reply.headers.get('idempotent-replayed')).to.equal('true');
    expect(reply.body.transactionId).to.equal(txId);
    expect(reply.body.record.status).to.equal('applied');
    expect(reply.body.blockNumber).to.be.a('number').greaterThan(0);
    applied = reply.body;
    expect((await row(key))!.state).to.equal('done');

    // The record the replay rebuilt is the one on the ledger, written by that transaction alone.
    const now = await cast.clients.applicant.get(`/v1/permits/${permitNo}`);
    expect(now.body).to.deep.include(reply.body.record); // permit:Get adds derived fields to the stored record
    expect(now.body.history.map((h: { txId: string }) => h.txId)).to.deep.equal([txId]);
    const versions = await cast.clients.auditor.get(`/v1/permits/${permitNo}/history`);
    expect(versions.body.versions.map((v: { txId: string }) => v.txId)).to.deep.equal([txId]);
    // As the OpenAPI document describes it (the fuzz once found it documented as a list).
    expect(permitLedgerHistorySchema.safeParse(versions.body).error?.issues ?? []).to.deep.equal([]);
    const facts = await cast.clients.auditor.get(`/v1/audit/transactions/${txId}`);
    expect(facts.body).to.include({ transactionId: txId, blockNumber: reply.body.blockNumber, valid: true });

    // Later replays come from the store: the same answer and no transaction.
    const height = await chainHeight();
    for (let i = 0; i < 3; i++) {
      const again = await lossyCast.applicant.post('/v1/permits', body, { idem: key });
      expect(again.status).to.equal(201);
      expect(again.body).to.deep.equal(reply.body);
    }
    // A new key does reach the chaincode, which refuses a second permit with this number.
    const dup = await cast.clients.applicant.post('/v1/permits', body);
    expect(dup.body.error?.code, dup.text).to.equal('ALREADY_EXISTS');
    expect(await chainHeight()).to.equal(height);
  });

  it(
    'two writes racing on one permit, both answered 503: replays give the winner its 200 and ' + 'the loser the 409 CONFLICT of its invalid transaction',
    async () => {
      const base = `/v1/permits/${permitNo}`;
      const assess = {
        confirmations: [
          { measureId: 'm1', confirmedBy: cast.personInCharge },
          { measureId: 'm2', confirmedBy: cast.personInCharge },
        ],
      };
      const cancel = { reason: 'plan changed' };
      const keys = { assess: `lost-assess-${permitNo}`, cancel: `lost-cancel-${permitNo}` };
      const send = {
        assess: () => lossyCast.pic.post(`${base}/risk-assessment`, assess, { idem: keys.assess }),
        cancel: () => lossyCast.applicant.post(`${base}/cancel`, cancel, { idem: keys.cancel }),
      };
      // Both are endorsed against the same version of the permit before either is committed.
      const [a, c] = await Promise.all([send.assess(), send.cancel()]);
      const txIds = { assess: expectLost(a), cancel: expectLost(c) };
      const settled = {
        assess: (await replayUntilSettled(send.assess, txIds.assess)).reply,
        cancel: (await replayUntilSettled(send.cancel, txIds.cancel)).reply,
      };
      const statuses = [settled.assess.status, settled.cancel.status];
      expect(statuses.slice().sort(), `${settled.assess.text} / ${settled.cancel.text}`).to.deep.equal([200, 409]);
      const [winner, loser] = settled.assess.status === 200 ? (['assess', 'cancel'] as const) : (['cancel', 'assess'] as const);
      expect(settled[winner].body.transactionId).to.equal(txIds[winner]);
      expect(settled[winner].body.record.status).to.equal(winner === 'assess' ? 'risk_assessed' : 'cancelled');
      expect(settled[loser].body.error).to.include({ code: 'CONFLICT', status: 409 });
      expect(settled[loser].body.error.details).to.deep.equal({ transactionId: txIds[loser], validationCode: 11 }); // MVCC_READ_CONFLICT
      expect(settled[loser].headers.get('idempotent-replayed')).to.equal('true');
      expect(await row(keys[loser])).to.deep.include({ state: 'done', status: 409 });

      const replayLoser = await send[loser]();
      expect(replayLoser.status).to.equal(409);
      expect(replayLoser.body.error.details.transactionId).to.equal(txIds[loser]);
      const facts = await cast.clients.auditor.get(`/v1/audit/transactions/${txIds[loser]}`);
      expect(facts.body, facts.text).to.include({ valid: false, validationCodeName: 'MVCC_READ_CONFLICT' });
      const now = await cast.clients.applicant.get(`/v1/permits/${permitNo}`);
      expect(now.body.history.map((h: { txId: string }) => h.txId)).to.deep.equal([applied.transactionId, txIds[winner]]);
    },
  );

  it(
    'a hand-over to the orderer cut off by its deadline is an unknown outcome too: retries on ' +
      'another gateway end with one permit, whether or not that transaction got through',
    async function () {
      const env = {
        GATEWAY_STATE_DATABASE_URL: db,
        GATEWAY_WALLET_DIR: walletDir,
        GATEWAY_RETRY_AFTER_SECONDS: '2',
        GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS: '5000',
      };
      const cut = await startTestGateway({ ...env, GATEWAY_SUBMIT_TIMEOUT_MS: '1' });
      const other = await startTestGateway(env);
      try {
        const no = uniqueId('CUT');
        const key = `cut-apply-${no}`;
        const body = applyBody(cast, no);
        const lostTx = expectLost(await cast.clients.applicant.at(cut.url).post('/v1/permits', body, { idem: key }));
        expect(await row(key)).to.deep.include({ state: 'unknown', transaction_id: lostTx });
        // Retry as a client would, after Retry-After, until the key settles (at the latest past the bound).
        const deadline = Date.now() + 30_000;
        let r: Reply;
        for (;;) {
          r = await cast.clients.applicant.at(other.url).post('/v1/permits', body, { idem: key });
          if (r.status !== 503) break;
          expect(r.body.error.details.transactionId).to.equal(lostTx);
          if (Date.now() > deadline) expect.fail('the key never settled');
          await sleep(1000);
        }
        expect(r.status, r.text).to.equal(201);
        const history = (await cast.clients.applicant.get(`/v1/permits/${no}`)).body.history.map((h: { txId: string }) => h.txId);
        expect(history).to.deep.equal([r.body.transactionId]);
        if (r.body.transactionId !== lostTx) {
          // Released: the cut-off transaction never reached the ledger, and the retry wrote the permit.
          expect(r.headers.get('idempotent-replayed')).to.equal(null);
          expect((await cast.clients.auditor.get(`/v1/audit/transactions/${lostTx}`)).status).to.equal(404);
        } else expect(r.headers.get('idempotent-replayed')).to.equal('true');
        this.test!.title += ` (this run: ${r.body.transactionId === lostTx ? 'it had been ordered' : 'it had not been ordered; the key was released'})`;
      } finally {
        await other.close();
        await cut.close();
      }
    },
  );

  describe('a transaction the peer does not have', () => {
    let releasing: RunningGateway;
    let dead: RunningGateway;
    const sub = `gw-lost-cred-${crypto.randomBytes(3).toString('hex')}`;
    let client: Client;
    const BOUND_MS = 3000;

    /** A key left `unknown` by a first request whose transaction never reached the ledger. */
    async function unknownKey(key: string, body: unknown): Promise<string> {
      const txId = crypto.randomBytes(32).toString('hex');
      await state.query(
        `INSERT INTO gateway_idempotency (scope, key, fingerprint, state, status, transaction_id, completed_at) VALUES ($1, $2, $3, 'unknown', 201, $4, now())`,
        [`enterprise/${sub}`, key, requestFingerprint('post', '/v1/workers', { json: body }), txId],
      );
      return txId;
    }

    before(async () => {
      const env = {
        GATEWAY_STATE_DATABASE_URL: db,
        GATEWAY_WALLET_DIR: walletDir,
        GATEWAY_RETRY_AFTER_SECONDS: '2',
        GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS: String(BOUND_MS),
      };
      releasing = await startTestGateway(env);
      const t = await token({ sub, org: 'enterprise', role: 'credential_officer' });
      client = new Client(releasing.url).as(t);
      expect((await client.get(`/v1/workers/${workerId('nobody')}`)).status).to.equal(404); // enrolled while the CA is up
      const profile = JSON.parse(fs.readFileSync(profilePath(), 'utf8'));
      for (const org of Object.values<{ peer: { endpoint: string } }>(profile.organizations)) org.peer.endpoint = '127.0.0.1:1';
      const deadProfile = path.join(walletDir, 'dead-profile.json');
      fs.writeFileSync(deadProfile, JSON.stringify(profile));
      dead = await startTestGateway({ ...env, LEDGER_CONNECTION_PROFILE: deadProfile, GATEWAY_EVALUATE_TIMEOUT_MS: '2000' });
    });
    after(async () => {
      await dead?.close();
      await releasing?.close();
    });

    it('answers 503 with Retry-After and keeps the key unknown before the bound, then releases it: the replay runs as new and writes once', async () => {
      const body = { workerId: workerId(`lost-never-${sub}`) };
      const key = `lost-never-${sub}`;
      const lostTx = await unknownKey(key, body);
      const height = await chainHeight();
      const early = await client.post('/v1/workers', body, { idem: key });
      expect(early.status, early.text).to.equal(503);
      expect(early.body.error.code).to.equal('LEDGER_UNAVAILABLE');
      expect(early.body.error.details.transactionId).to.equal(lostTx);
      expect(early.headers.get('retry-after')).to.equal('2');
      expect(await row(key)).to.deep.include({ state: 'unknown', transaction_id: lostTx });
      expect(await chainHeight()).to.equal(height);

      await sleep(BOUND_MS + 200);
      const late = await client.post('/v1/workers', body, { idem: key });
      expect(late.status, late.text).to.equal(201);
      expect(late.headers.get('idempotent-replayed')).to.equal(null);
      expect(late.body.transactionId)
        .to.match(/^[0-9a-f]{64}$/)
        .and.not.equal(lostTx);
      expect(late.body.record.workerId).to.equal(body.workerId);
      await releasing.idempotency!.settled(); // stored beside the answer
      expect(await row(key)).to.deep.include({ state: 'done', status: 201 });
      const again = await client.post('/v1/workers', body, { idem: key });
      expect(again.body.transactionId).to.equal(late.body.transactionId);
      expect(again.headers.get('idempotent-replayed')).to.equal('true');
    });

    it('never releases the key while the peer cannot be asked, even past the bound', async () => {
      const body = { workerId: workerId(`lost-unreachable-${sub}`) };
      const key = `lost-unreachable-${sub}`;
      const lostTx = await unknownKey(key, body);
      await state.query(`UPDATE gateway_idempotency SET completed_at = now() - interval '1 hour' WHERE key = $1`, [key]);
      const r = await client.at(dead.url).post('/v1/workers', body, { idem: key });
      expect(r.status, r.text).to.equal(503);
      expect(r.body.error.code).to.equal('LEDGER_UNAVAILABLE');
      expect(await row(key)).to.deep.include({ state: 'unknown', transaction_id: lostTx });
      const worker = await client.get(`/v1/workers/${body.workerId}`);
      expect(worker.status).to.equal(404);
    });
  });
});
