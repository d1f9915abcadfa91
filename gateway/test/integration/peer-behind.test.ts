/**
 * The regulator's peer a known block behind, on the real network: a worker registered in a block
 * only the enterprise's peer has, then a certificate added for that worker. The regulator's peer
 * alone refuses it (NOT_FOUND) while it is behind. That is not the chaincode's answer to the
 * request: the gateway endorses again with backoff and answers the success once the peer caught up,
 * and the Idempotency-Key holds that success. When the attempts run out first, the answer is 503
 * and the key is released, not kept: the same request with the same key then succeeds.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { type LaggingRegulator, regulatorBehindBy, untilPeersDisagree } from '../../../fabric-client/test/support/lagging-peer.js';
import type { RunningGateway } from '../../src/server.js';
import { connectAsWalletUser } from '../support/direct.js';
import { Client, createDatabase, dropDatabase, requireNetwork, startTestGateway, workerId } from '../support/env.js';
import { type Cast, makeCast } from '../support/scenario.js';

const METRICS_TOKEN = crypto.randomBytes(24).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('gateway: a refusal by the other org’s peer alone while it is behind is retried, not kept (real network)', function () {
  this.timeout(240_000);
  let patient: RunningGateway;
  let impatient: RunningGateway;
  let db: string;
  let state: pg.Pool;
  let walletDir: string;
  let cast: Cast;
  let lag: LaggingRegulator | undefined;

  const row = async (key: string) =>
    (await state.query('SELECT state, status, transaction_id FROM gateway_idempotency WHERE key = $1', [key])).rows[0] as
      | { state: string; status: number; transaction_id: string | null }
      | undefined;

  /** A gateway's count of endorsements tried again for one transaction and failure class (its /metrics, with the scrape token). */
  async function retries(gw: RunningGateway, tx: string, reason: string): Promise<number> {
    const text = (await new Client(gw.url).as(METRICS_TOKEN).get('/metrics')).text;
    const m = new RegExp(`gateway_ledger_endorse_retries_total\\{tx="${tx}",reason="${reason}"\\} (\\d+)`).exec(text);
    return m ? Number(m[1]) : 0;
  }

  before(async function () {
    requireNetwork(this);
    walletDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-behind-wallet-'));
    db = await createDatabase('gw_behind');
    state = new pg.Pool({ connectionString: db });
    state.on('error', () => undefined); // dropDatabase cuts its idle connections at the end
    const common = {
      GATEWAY_STATE_DATABASE_URL: db,
      GATEWAY_WALLET_DIR: walletDir,
      GATEWAY_METRICS_TOKEN: METRICS_TOKEN,
      GATEWAY_ENDORSE_RETRY_BASE_MS: '250',
      GATEWAY_ENDORSE_RETRY_MAX_MS: '1000',
    };
    patient = await startTestGateway({ ...common, GATEWAY_ENDORSE_ATTEMPTS: '60' });
    impatient = await startTestGateway({ ...common, GATEWAY_ENDORSE_ATTEMPTS: '2' });
    cast = await makeCast(new Client(patient.url));
  });
  after(async () => {
    lag?.catchUp();
    await impatient?.close();
    await patient?.close();
    await state?.end();
    await dropDatabase(db);
  });

  it('answers the success once the peer caught up, and the key holds it; a request whose attempts ran out gets 503 and its key is free', async () => {
    const credential = cast.clients.credential;
    // Enrols the credential officer into the wallet, with a worker both peers have.
    expect((await credential.post('/v1/workers', { workerId: workerId(`behind-first-${cast.tag}`) })).status).to.equal(201);

    const worker = workerId(`behind-${cast.tag}`);
    const direct = connectAsWalletUser(walletDir, 'enterprise', `gw-cred-${cast.tag}`);
    const certificate = (n: number) => ({
      certificateId: `cert-behind-${cast.tag}-${n}`,
      workerId: worker,
      category: 'welding_cutting',
      item: '熔化焊接与热切割作业',
      authority: '应急管理局',
      validFrom: iso(Date.now() - 86_400_000),
      validUntil: iso(Date.now() + 365 * 86_400_000),
      reviewDue: iso(Date.now() + 180 * 86_400_000),
      scanSha256: crypto.createHash('sha256').update(`scan-behind-${cast.tag}-${n}`).digest('hex'),
    });
    const first = certificate(1);
    const second = certificate(2);
    try {
      const registration = await direct.contract.newProposal('credential:RegisterWorker', { arguments: [JSON.stringify({ workerId: worker })] }).endorse();
      lag = await regulatorBehindBy(registration);
      const refusal = await untilPeersDisagree(
        () => direct.contract.newProposal('credential:AddCertificate', { arguments: [JSON.stringify(first)] }).endorse(),
        'EnterpriseMSP',
      );
      expect(refusal).to.deep.include({ code: 'NOT_FOUND', refusingMspIds: ['RegulatorMSP'] });
    } finally {
      direct.close();
    }

    // Two endorsements, both refused by the lagging peer: 503, nothing kept on the key.
    const impatientKey = `behind-impatient-${cast.tag}`;
    // (The restarted peer may drop out of discovery for a moment: that 503 names no refusing org
    // and releases the key too; the request is sent again with the same key.)
    let gaveUp = await credential.at(impatient.url).post('/v1/certificates', second, { idem: impatientKey });
    for (let i = 0; i < 10 && gaveUp.status === 503 && !gaveUp.body.error.details?.refusingOrgs; i++) {
      await sleep(500);
      gaveUp = await credential.at(impatient.url).post('/v1/certificates', second, { idem: impatientKey });
    }
    expect(gaveUp.status, gaveUp.text).to.equal(503);
    expect(gaveUp.body.error).to.deep.include({ code: 'LEDGER_UNAVAILABLE' });
    expect(gaveUp.body.error.details).to.deep.include({ refusingOrgs: ['RegulatorMSP'], code: 'NOT_FOUND' });
    expect(gaveUp.headers.get('retry-after')).to.equal('5');
    expect(await row(impatientKey)).to.equal(undefined);
    expect(await retries(impatient, 'credential:AddCertificate', 'PeersDisagree')).to.be.greaterThan(0);

    // The patient gateway endorses again until the peer has the block; the orderer delivers it
    // only once the gateway has been refused and is retrying.
    const key = `behind-patient-${cast.tag}`;
    const answer = credential.post('/v1/certificates', first, { idem: key });
    while ((await retries(patient, 'credential:AddCertificate', 'PeersDisagree')) === 0) await sleep(100);
    lag!.catchUp();
    const added = await answer;
    expect(added.status, added.text).to.equal(201);
    expect(added.body.record).to.deep.include({ certificateId: first.certificateId, workerId: worker });
    const txId = added.body.transactionId as string;
    expect(txId).to.match(/^[0-9a-f]{64}$/);
    expect(added.body.blockNumber).to.be.greaterThan(Number(lag!.blockNumber));
    expect(await row(key)).to.deep.include({ status: 201, transaction_id: txId });

    const replay = await credential.post('/v1/certificates', first, { idem: key });
    expect(replay.status, replay.text).to.equal(201);
    expect(replay.headers.get('idempotent-replayed')).to.equal('true');
    expect(replay.body.transactionId).to.equal(txId);

    // The key the impatient gateway gave up on was free: the same request runs again and succeeds
    // (through the patient gateway, which shares the key store: the restarted peer may still drop
    // out of discovery for a moment, which two attempts might not outlast).
    const again = await credential.post('/v1/certificates', second, { idem: impatientKey });
    expect(again.status, again.text).to.equal(201);
    expect(await row(impatientKey)).to.deep.include({ status: 201, transaction_id: again.body.transactionId });

    // Its key statements are counted on /metrics: the requests above made claims, records and results.
    const text = (await new Client(patient.url).as(METRICS_TOKEN).get('/metrics')).text;
    // The last write's commit status came from the block stream its first write opened (commit-watcher.ts).
    expect(Number(/gateway_commit_statuses_total\{source="block_stream"\} (\d+)/.exec(text)?.[1] ?? 0)).to.be.at.least(1);
    for (const kind of ['claim', 'recordTransaction', 'complete']) {
      const count = (name: string) => Number(new RegExp(`${name}\\{kind="${kind}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
      expect(count('gateway_idempotency_statements_total'), kind).to.be.greaterThan(0);
      expect(count('gateway_idempotency_statement_items_total'), kind).to.be.at.least(count('gateway_idempotency_statements_total'));
    }
  });
});
