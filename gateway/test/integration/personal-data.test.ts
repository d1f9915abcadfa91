/**
 * Personal data through the API on the real network (and the real indexer for the access log):
 * store, read after a logged access, erase, for a worker and a certificate. The values reach the
 * chaincode only as transient data endorsed by the enterprise alone: the committed transaction
 * carries only EnterpriseMSP's endorsement, and neither its block nor the gateway's idempotency
 * records contain them.
 */
import * as crypto from 'node:crypto';
import { expect } from 'chai';
import pg from 'pg';
import type { RunningGateway } from '../../src/server.js';
import { connectAsWalletUser } from '../support/direct.js';
import { Client, chainHeight, createDatabase, dropDatabase, requireNetwork, startTestGateway, token, workerId } from '../support/env.js';
import { type RunningIndexer, startIndexer } from '../support/indexer.js';
import { iso } from '../support/scenario.js';

type Json = Record<string, any>;

describe('gateway: personal data of workers and certificates (real network, indexer)', function () {
  this.timeout(180_000);
  let gw: RunningGateway;
  let indexer: RunningIndexer;
  let db: string | undefined;
  const tag = crypto.randomBytes(4).toString('hex');
  const worker = workerId(`pd-worker-${tag}`);
  const other = workerId(`pd-other-${tag}`);
  const certificateId = `cert-pd-${tag}`;
  const personal = {
    name: `测试人员${tag}`,
    idNumber: `11010119900101${tag.slice(0, 4)}`,
    phone: '13800000000',
    salt: crypto.randomBytes(18).toString('base64url'),
  };
  const number = { certificateNo: `T${tag}${tag}`, salt: crypto.randomBytes(18).toString('base64url') };
  const officerSub = `gw-pd-cred-${tag}`;
  let officer: Client, applicant: Client, regulator: Client, auditor: Client;
  let storeTx = '';

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_personal');
    indexer = startIndexer(db);
    gw = await startTestGateway({ DATABASE_URL: db });
    const as = async (sub: string, org: 'enterprise' | 'regulator', role: string) => new Client(gw.url).as(await token({ sub, org, role: role as never }));
    officer = await as(officerSub, 'enterprise', 'credential_officer');
    applicant = await as(`gw-pd-applicant-${tag}`, 'enterprise', 'applicant');
    regulator = await as(`gw-pd-regulator-${tag}`, 'regulator', 'regulator');
    auditor = await as(`gw-pd-auditor-${tag}`, 'regulator', 'auditor');
    for (const w of [worker, other]) expect((await officer.post('/v1/workers', { workerId: w })).status).to.equal(201);
    const now = Date.now();
    const c = await officer.post('/v1/certificates', {
      certificateId,
      workerId: worker,
      category: 'welding_cutting',
      item: '熔化焊接与热切割作业',
      authority: '应急管理局',
      validFrom: iso(now - 86_400_000),
      validUntil: iso(now + 365 * 86_400_000),
      reviewDue: iso(now + 300 * 86_400_000),
      scanSha256: crypto.createHash('sha256').update(certificateId).digest('hex'),
    });
    expect(c.status, c.text).to.equal(201);
  });
  after(async () => {
    await gw?.close();
    await indexer?.stop();
    await dropDatabase(db);
  });

  it('refuses a body without salt or with an unknown field (400), another role (403), an unknown worker (404), and writes nothing', async () => {
    const height = await chainHeight();
    const { salt: _s, ...noSalt } = personal;
    const r1 = await officer.post(`/v1/workers/${worker}/personal-data`, noSalt);
    expect(r1.status).to.equal(400);
    expect(r1.body.error.details.fields.map((f: Json) => f.path)).to.include('body.salt');
    const r2 = await officer.post(`/v1/workers/${worker}/personal-data`, { ...personal, email: 'a@b.c' });
    expect(r2.status).to.equal(400);
    expect(JSON.stringify(r2.body)).to.not.contain(personal.idNumber);
    const r3 = await applicant.post(`/v1/workers/${worker}/personal-data`, personal);
    expect(r3.status).to.equal(403);
    const r4 = await regulator.post(`/v1/workers/${worker}/personal-data`, personal);
    expect(r4.status).to.equal(403);
    const r5 = await officer.post(`/v1/workers/${workerId(`pd-nobody-${tag}`)}/personal-data`, personal);
    expect(r5.status, r5.text).to.equal(404);
    expect(JSON.stringify(r5.body)).to.not.contain(personal.name);
    expect(await chainHeight()).to.equal(height);
    expect((await officer.get(`/v1/workers/${worker}`)).body.personalDataStored).to.equal(false);
  });

  it(
    "stores a worker's personal data as transient data endorsed by the enterprise alone; the " + 'answer, the block and the idempotency record hold none of it',
    async () => {
      const r = await officer.post(`/v1/workers/${worker}/personal-data`, personal);
      expect(r.status, r.text).to.equal(201);
      expect(r.body.record).to.deep.equal({ workerId: worker, collection: '_implicit_org_EnterpriseMSP' });
      storeTx = r.body.transactionId;
      expect((await auditor.get(`/v1/workers/${worker}`)).body.personalDataStored).to.equal(true);
      // The auditor's ledger facts also name where the indexer mirrored the transaction.
      await indexer.waitForBlock(r.body.blockNumber);
      const facts = await auditor.get(`/v1/audit/transactions/${storeTx}`);
      expect(facts.status, facts.text).to.equal(200);
      expect(facts.body.valid).to.equal(true);
      // Endorsed by the enterprise alone, and valid: the write goes to the enterprise's implicit
      // collection, whose policy (the org's Endorsement policy) the verifier applies as Fabric does.
      expect(facts.body.verification.endorsements.map((e: { detail: string }) => e.detail)).to.have.length(1);
      expect(facts.body.verification.endorsements[0].detail).to.match(/\(EnterpriseMSP\)$/);
      expect(facts.body.verification.policy.detail).to.contain('/Channel/Application/EnterpriseMSP/Endorsement');
      expect(facts.body.verification.verified, JSON.stringify(facts.body.verification)).to.equal(true);
      const qscc = connectAsWalletUser(gw.services.config.GATEWAY_WALLET_DIR, 'enterprise', officerSub, 'qscc');
      let block: Buffer;
      try {
        block = Buffer.from(await qscc.contract.evaluateTransaction('GetBlockByTxID', 'compliance', storeTx));
      } finally {
        qscc.close();
      }
      const blockText = block.toString('latin1');
      for (const secret of [personal.name, personal.idNumber, personal.salt]) {
        expect(blockText).to.not.contain(secret);
        expect(block.includes(Buffer.from(secret, 'utf8'))).to.equal(false);
      }
      const c = new pg.Client({ connectionString: db });
      await c.connect();
      try {
        const rows = (await c.query('SELECT * FROM gateway_idempotency')).rows;
        expect(rows.length).to.be.greaterThan(0);
        for (const secret of [personal.name, personal.idNumber, personal.salt]) expect(JSON.stringify(rows)).to.not.contain(secret);
      } finally {
        await c.end();
      }
    },
  );

  it('reads it only with a purpose (400 without), as a credential officer (403 otherwise), logging each access on the ledger and listing it', async () => {
    const height = await chainHeight();
    const noPurpose = await officer.get(`/v1/workers/${worker}/personal-data`);
    expect(noPurpose.status).to.equal(400);
    expect(noPurpose.body.error.details.fields.map((f: Json) => f.path)).to.include('query.purpose');
    const wrongRole = await regulator.get(`/v1/workers/${worker}/personal-data?purpose=audit`);
    expect(wrongRole.status).to.equal(403);
    expect(await chainHeight()).to.equal(height);
    const r = await officer.get(`/v1/workers/${worker}/personal-data?purpose=${encodeURIComponent('emergency contact after an incident')}`);
    expect(r.status, r.text).to.equal(200);
    expect(r.headers.get('cache-control')).to.equal('no-store');
    expect(r.body.personal).to.deep.equal(personal);
    expect(r.body.subject).to.deep.equal({ kind: 'worker', id: worker });
    expect(r.body.accessId).to.match(/^pda-/);
    expect(await chainHeight()).to.equal(height + 1);
    await indexer.waitForBlock(r.body.accessBlockNumber);
    const log = await auditor.get(`/v1/workers/${worker}/personal-data/accesses`);
    expect(log.status, log.text).to.equal(200);
    expect(log.body.total).to.equal(1);
    expect(log.body.items[0]).to.include({
      accessId: r.body.accessId,
      purpose: 'emergency contact after an incident',
      accessorMsp: 'EnterpriseMSP',
      accessorRole: 'credential_officer',
      txId: r.body.accessTransactionId,
    });
    expect(JSON.stringify(log.body)).to.not.contain(personal.name);
    const notForApplicants = await applicant.get(`/v1/workers/${worker}/personal-data/accesses`);
    expect(notForApplicants.status).to.equal(403);
  });

  it('erases it on request (200); then a read is logged and answered 404, and a second erasure is 404', async () => {
    const height = await chainHeight();
    const wrongRole = await applicant.post(`/v1/workers/${worker}/personal-data/erase`, { reason: 'x' });
    expect(wrongRole.status).to.equal(403);
    const noReason = await officer.post(`/v1/workers/${worker}/personal-data/erase`, {});
    expect(noReason.status).to.equal(400);
    expect(await chainHeight()).to.equal(height);
    expect((await officer.get(`/v1/workers/${worker}`)).body.personalDataStored).to.equal(true);
    const r = await officer.post(`/v1/workers/${worker}/personal-data/erase`, { reason: 'erasure requested by the data subject' });
    expect(r.status, r.text).to.equal(200);
    expect(r.body.record).to.include({ reason: 'erasure requested by the data subject' });
    expect(r.body.record.subject).to.deep.equal({ kind: 'worker', id: worker });
    expect((await officer.get(`/v1/workers/${worker}`)).body.personalDataStored).to.equal(false);
    const read = await officer.get(`/v1/workers/${worker}/personal-data?purpose=check`);
    expect(read.status).to.equal(404);
    expect(read.body.error.code).to.equal('NOT_FOUND');
    const again = await officer.post(`/v1/workers/${worker}/personal-data/erase`, { reason: 'again' });
    expect(again.status).to.equal(404);
  });

  it("stores, reads and erases a certificate's number the same way", async () => {
    const s = await officer.post(`/v1/certificates/${certificateId}/personal-data`, number);
    expect(s.status, s.text).to.equal(201);
    expect(s.body.record).to.deep.equal({ certificateId, collection: '_implicit_org_EnterpriseMSP' });
    expect((await applicant.get(`/v1/certificates/${certificateId}`)).body.numberStored).to.equal(true);
    const bad = await officer.post(`/v1/certificates/${certificateId}/personal-data`, { certificateNo: number.certificateNo });
    expect(bad.status).to.equal(400);
    const r = await officer.get(`/v1/certificates/${certificateId}/personal-data?purpose=verify%20with%20the%20authority`);
    expect(r.status, r.text).to.equal(200);
    expect(r.body.personal).to.deep.equal(number);
    await indexer.waitForBlock(r.body.accessBlockNumber);
    const log = await officer.get(`/v1/certificates/${certificateId}/personal-data/accesses`);
    expect(log.body.items.map((i: Json) => i.accessId)).to.deep.equal([r.body.accessId]);
    const e = await officer.post(`/v1/certificates/${certificateId}/personal-data/erase`, { reason: 'certificate revoked' });
    expect(e.status, e.text).to.equal(200);
    expect((await applicant.get(`/v1/certificates/${certificateId}`)).body.numberStored).to.equal(false);
    // Another subject's log is its own.
    expect((await officer.get(`/v1/workers/${other}/personal-data/accesses`)).body.total).to.equal(0);
  });
});
