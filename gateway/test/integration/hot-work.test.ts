/**
 * A whole hot-work permit through the API, over real HTTP, against the real Fabric network and
 * PostgreSQL (with the real indexer), and then what regulators and auditors see of it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { monthOf } from '../../src/report-calendar.js';
import type { RunningGateway } from '../../src/server.js';
import { Client, createDatabase, dropDatabase, requireNetwork, startTestGateway } from '../support/env.js';
import { type RunningIndexer, startIndexer } from '../support/indexer.js';
import { applyBody, type Cast, iso, makeCast, recordCameraAlarm, registerCast, uniqueId } from '../support/scenario.js';
import { JPEG_HEAD, MP4_HEAD } from '../support/tus.js';

describe('gateway: a hot-work permit end to end (real network, Postgres, indexer)', function () {
  this.timeout(180_000);
  let gw: RunningGateway;
  let indexer: RunningIndexer;
  let cast: Cast;
  let permitNo: string;
  let lastBlock = 0;
  let blockstoreDir: string;
  let db: string | undefined;
  const txIds: string[] = [];

  before(async function () {
    requireNetwork(this);
    db = await createDatabase('gw_hotwork');
    indexer = startIndexer(db);
    gw = await startTestGateway({ DATABASE_URL: db, GATEWAY_EVIDENCE_MAX_BYTES: '1000000' });
    blockstoreDir = gw.services.config.GATEWAY_BLOCKSTORE_DIR;
    cast = await makeCast(new Client(gw.url));
    await registerCast(cast);
    permitNo = uniqueId('HW');
  });
  after(async () => {
    await gw?.close();
    await indexer?.stop();
    await dropDatabase(db);
  });

  /** The message is the chaincode's reason alone: no code in front of it, and no code inside it (Fabric's wrapping is gone too). */
  const expectReasonWithoutCode = (error: { code: string; message: string }, code: string, reason: RegExp) => {
    expect(error.code).to.equal(code);
    expect(error.message).to.match(reason);
    expect(error.message.startsWith(code), error.message).to.equal(false);
    expect(error.message, error.message).not.to.match(/\b[A-Z]+(_[A-Z]+)*: /);
    expect(error.message).not.to.contain('chaincode response');
  };

  const step = async (client: Client, p: string, body: unknown, status = 200) => {
    const r = await client.post(p, body);
    expect(r.status, `${p}: ${r.text}`).to.equal(status);
    txIds.push(r.body.transactionId);
    lastBlock = Math.max(lastBlock, r.body.blockNumber);
    return r.body.record;
  };

  it('applies, and a replay with the same Idempotency-Key returns the first result without a second transaction', async () => {
    const body = applyBody(cast, permitNo);
    const first = await cast.clients.applicant.post('/v1/permits', body, { idem: `apply-${permitNo}` });
    expect(first.status, first.text).to.equal(201);
    expect(first.body.record.status).to.equal('applied');
    txIds.push(first.body.transactionId);
    const replay = await cast.clients.applicant.post('/v1/permits', body, { idem: `apply-${permitNo}` });
    expect(replay.status).to.equal(201);
    expect(replay.headers.get('idempotent-replayed')).to.equal('true');
    expect(replay.body.transactionId).to.equal(first.body.transactionId);
    const reused = await cast.clients.applicant.post('/v1/permits', { ...body, description: 'other' }, { idem: `apply-${permitNo}` });
    expect(reused.status).to.equal(422);
    expect(reused.body.error.code).to.equal('IDEMPOTENCY_KEY_REUSED');
    // A new key for the same permit reaches the chaincode, which refuses the duplicate number: 409 with its reason.
    const dup = await cast.clients.applicant.post('/v1/permits', body);
    expect(dup.status).to.equal(409);
    expect(dup.body.error.code).to.equal('ALREADY_EXISTS');
    expectReasonWithoutCode(dup.body.error, 'ALREADY_EXISTS', /already exists/);
    // The chaincode's rule refusal reaches the client as its code and its reason, the code once.
    const guardianWorks = await cast.clients.applicant.post('/v1/permits', { ...applyBody(cast, uniqueId('HW')), guardianId: cast.welder });
    expect(guardianWorks.status, guardianWorks.text).to.equal(422);
    expectReasonWithoutCode(guardianWorks.body.error, 'RULE_VIOLATION', /^the guardian cannot also be a worker on the permit/);
    const now = await cast.clients.applicant.get(`/v1/permits/${permitNo}`);
    expect(now.body.history).to.have.length(1);
  });

  it('two concurrent requests with one Idempotency-Key make one transaction', async () => {
    const wid = (await import('../support/env.js')).workerId(`concurrent-${permitNo}`);
    const [a, b] = await Promise.all([
      cast.clients.credential.post('/v1/workers', { workerId: wid }, { idem: `w-${permitNo}` }),
      cast.clients.credential.post('/v1/workers', { workerId: wid }, { idem: `w-${permitNo}` }),
    ]);
    const statuses = [a.status, b.status].sort();
    expect([
      [201, 201],
      [201, 409],
    ]).to.deep.include(statuses);
    if (statuses[1] === 409) expect([a, b].find((r) => r.status === 409)!.body.error.code).to.equal('IDEMPOTENCY_IN_PROGRESS');
    else expect(a.body.transactionId).to.equal(b.body.transactionId);
    const again = await cast.clients.credential.post('/v1/workers', { workerId: wid }, { idem: `w-${permitNo}` });
    expect(again.status).to.equal(201);
    expect(again.headers.get('idempotent-replayed')).to.equal('true');
  });

  it('a request its Idempotency-Key refuses writes nothing, though the chaincode would take it', async () => {
    const { workerId } = await import('../support/env.js');
    const [kept, refused] = [workerId(`keyed-${permitNo}`), workerId(`refused-${permitNo}`)];
    const first = await cast.clients.credential.post('/v1/workers', { workerId: kept }, { idem: `wk-${permitNo}` });
    expect(first.status, first.text).to.equal(201);
    // The same key for another worker: the chaincode would register it, only the key stops it.
    const other = await cast.clients.credential.post('/v1/workers', { workerId: refused }, { idem: `wk-${permitNo}` });
    expect(other.status).to.equal(422);
    expect(other.body.error.code).to.equal('IDEMPOTENCY_KEY_REUSED');
    // Given time to commit, had anything been sent: nothing was.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await cast.clients.credential.get(`/v1/workers/${refused}`)).status).to.equal(404);
    expect((await cast.clients.credential.get(`/v1/workers/${kept}`)).status).to.equal(200);
  });

  it('refuses a step out of order with 409 carrying the chaincode reason', async () => {
    const r = await cast.clients.pic.post(`/v1/permits/${permitNo}/start`, {});
    expect(r.status).to.equal(409);
    expect(r.body.error.code).to.equal('INVALID_STATE');
    expectReasonWithoutCode(r.body.error, 'INVALID_STATE', /./);
  });

  it('runs risk assessment, gas test, approval, issue, briefing, gate checks, start, suspend, resume, complete, close', async () => {
    const c = cast.clients;
    const base = `/v1/permits/${permitNo}`;
    await step(c.pic, `${base}/risk-assessment`, {
      confirmations: [
        { measureId: 'm1', confirmedBy: cast.personInCharge },
        { measureId: 'm2', confirmedBy: cast.personInCharge },
      ],
    });
    const gas = await step(
      c.analyst,
      `${base}/gas-tests`,
      { testId: `gt-${cast.tag}`, sampleTakenAt: iso(Date.now() - 60_000), lelClass: 'lel_ge_4', flammableVolPct: 0.1 },
      201,
    );
    expect(gas.status).to.equal('gas_tested');
    const signed = await step(c.approver, `${base}/sign-offs`, { stepId: 'approval', atSite: true, opinion: 'OK at site' }, 201);
    expect(signed.status).to.equal('signed_off');
    expect((await step(c.approver, `${base}/issue`, {})).status).to.equal('issued');
    expect((await step(c.pic, `${base}/brief`, { briefedWorkerIds: [cast.welder, cast.helper] })).status).to.equal('briefed');
    for (const [i, w] of [cast.welder, cast.helper, cast.guardian].entries()) {
      const g = await step(
        c.gate,
        `${base}/gate-checks`,
        { gateCheckId: `gc-${cast.tag}-${i}`, workerId: w, qr: { passed: true }, face: { scoreBp: 9300, deviceId: cast.deviceId }, health: { passed: true } },
        201,
      );
      expect(g.passed).to.equal(true);
    }
    expect((await step(c.pic, `${base}/start`, {})).status).to.equal('active');
    expect((await step(c.pic, `${base}/suspend`, { reason: 'interruption', note: 'lunch' })).status).to.equal('suspended');
    expect((await step(c.pic, `${base}/resume`, {})).status).to.equal('active');
    expect((await step(c.pic, `${base}/complete`, { siteRestored: true })).status).to.equal('completed');
    const gates = await c.pic.get(`${base}/gate-checks`);
    expect(gates.status, gates.text).to.equal(200);
    expect(gates.body).to.have.length(3);
    const certs = await c.regulator.get(`/v1/workers/${cast.welder}/certificates`);
    expect(certs.status, certs.text).to.equal(200);
    expect(certs.body[0].category).to.equal('welding_cutting');
    const closed = await step(c.acceptor, `${base}/close`, { accepted: true, note: 'site clean' });
    const history = await c.auditor.get(`${base}/history`);
    expect(history.status, history.text).to.equal(200);
    expect(history.body.permitNo).to.equal(permitNo);
    expect(history.body.versions.length).to.be.greaterThan(5);
    expect(closed.status).to.equal('closed');
    expect(closed.history.map((h: { action: string }) => h.action)).to.have.length(11);
  });

  it('uploads evidence (multipart, streamed to IPFS) linked to a step, and lists it', async () => {
    const content = Buffer.alloc(700_000, 7); // three chunks: a real DAG, not a single raw block
    JPEG_HEAD.copy(content);
    content.write('gas meter photo', JPEG_HEAD.length);
    const form = new FormData();
    form.set('step', 'gas_test');
    form.set('capturedAt', iso(Date.now() - 30_000));
    form.set('deviceId', cast.deviceId);
    form.set('file', new Blob([content], { type: 'image/jpeg' }), 'meter.jpg');
    const r = await cast.clients.analyst.request('POST', `/v1/permits/${permitNo}/evidence`, { body: form, idem: `ev-${permitNo}` });
    if (r.status !== 201) expect.fail(`evidence upload: ${r.status} ${r.text}`);
    const replay = await cast.clients.analyst.request('POST', `/v1/permits/${permitNo}/evidence`, { body: form, idem: `ev-${permitNo}` });
    expect(replay.status).to.equal(201);
    expect(replay.headers.get('idempotent-replayed')).to.equal('true');
    expect(replay.body.transactionId).to.equal(r.body.transactionId);
    const big = new FormData();
    big.set('step', 'execution');
    big.set('capturedAt', iso(Date.now() - 30_000));
    big.set('file', new Blob([MP4_HEAD, Buffer.alloc(1_500_000, 1)], { type: 'video/mp4' }), 'clip.mp4');
    const tooBig = await cast.clients.analyst.request('POST', `/v1/permits/${permitNo}/evidence`, { body: big });
    expect(tooBig.status, tooBig.text).to.equal(413);
    expect(tooBig.body.error.code).to.equal('PAYLOAD_TOO_LARGE');
    const rec = r.body.record;
    expect(rec.sha256).to.equal((await import('node:crypto')).createHash('sha256').update(content).digest('hex'));
    expect(rec.sizeBytes).to.equal(content.length);
    expect(rec.cid).to.match(/^bafy/);
    txIds.push(r.body.transactionId);
    lastBlock = Math.max(lastBlock, r.body.blockNumber);
    const list = await cast.clients.regulator.get(`/v1/permits/${permitNo}/evidence`);
    expect(list.status).to.equal(200);
    expect(list.body).to.have.length(1);
  });

  it('regulator flags the permit for investigation (201), once only (409 ALREADY_EXISTS)', async () => {
    const flagId = `flag-${cast.tag}`;
    const r = await step(cast.clients.regulator, `/v1/permits/${permitNo}/flags`, { flagId, reason: 'gas test taken by the welder himself?' }, 201);
    expect(r).to.be.an('object');
    const again = await cast.clients.regulator.post(`/v1/permits/${permitNo}/flags`, { flagId, reason: 'again' });
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal('ALREADY_EXISTS');
  });

  it('alarms: a device-signed alarm, acknowledged and closed through the API, shows its response time to regulators', async () => {
    const alarm = { alarmId: `al-${cast.tag}` };
    await recordCameraAlarm(cast, gw.services.config.GATEWAY_WALLET_DIR, alarm.alarmId, {
      areaId: 'zone-9',
      grade: 3,
      kind: 'no_helmet',
      modelVersion: 'yolo-helmet-1',
    });
    await new Promise((r) => setTimeout(r, 1200));
    const ack = await step(cast.clients.safety, `/v1/alarms/${alarm.alarmId}/acknowledge`, { note: 'helmet put on' });
    expect(ack.status).to.equal('acknowledged');
    await step(cast.clients.safety, `/v1/alarms/${alarm.alarmId}/close`, { note: 'resolved' });
    await indexer.waitForBlock(lastBlock);
    const list = await cast.clients.regulator.get(`/v1/regulator/alarms?site=${cast.siteId}`);
    expect(list.status, list.text).to.equal(200);
    expect(list.body.total).to.equal(1);
    expect(list.body.items[0]).to.include({ alarmId: alarm.alarmId, grade: 3 });
    expect(list.body.items[0].responseMs).to.be.greaterThan(1000);
    expect(list.body.responseTime.averageSeconds).to.be.greaterThan(1);
  });

  it("auditor: each step verified by the verifier on the regulator's peer (signatures, certificate chains, policy, validation code)", async () => {
    const r = await cast.clients.auditor.get(`/v1/audit/permits/${permitNo}`);
    expect(r.status, r.text).to.equal(200);
    expect(r.body.allValid).to.equal(true);
    expect(r.body.allVerified, JSON.stringify(r.body.bundle.failures)).to.equal(true);
    expect(r.body.bundle.ok).to.equal(true);
    for (const step of r.body.steps) {
      expect(step.verification.policy.detail).to.contain("AND('EnterpriseMSP.peer','RegulatorMSP.peer')");
      expect(step.verification.endorsements.map((e: { detail: string }) => e.detail.replace(/.*\((\w+MSP)\)$/, '$1'))).to.deep.equal([
        'EnterpriseMSP',
        'RegulatorMSP',
      ]);
    }
    const t = await cast.clients.auditor.get(`/v1/audit/transactions/${txIds[0]}`);
    expect(t.status).to.equal(200);
    expect(t.body).to.include({ transactionId: txIds[0], validationCodeName: 'VALID', valid: true });
    expect(t.body.verification.verified).to.equal(true);
    expect(t.body.verification.creator).to.include({ status: 'pass' });
    expect(t.body.verification.creator.detail).to.match(/\(EnterpriseMSP\)$/);
    expect(t.body.verification.validation.detail).to.match(/^VALID in block \d+/);
    expect(t.body.verification.chain.map((c: { id: string }) => c.id)).to.include('chain.trust');
    expect(t.body.blockNumber).to.be.a('number');
    const missing = await cast.clients.auditor.get(`/v1/audit/transactions/${'0'.repeat(64)}`);
    expect(missing.status).to.equal(404);
  });

  it('auditor: the evidence check re-reads IPFS and matches, then detects tampered content', async () => {
    const ok = await cast.clients.auditor.get(`/v1/audit/permits/${permitNo}/evidence-check`);
    expect(ok.status, ok.text).to.equal(200);
    expect(ok.body.ok).to.equal(true);
    expect(ok.body.checks[0]).to.include({ sha256Matches: true, cidMatches: true });
    // Tamper with one stored leaf block on disk.
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name));
    };
    walk(blockstoreDir);
    const leaf = files.find((f) => fs.statSync(f).size === 262_144)!;
    const bytes = fs.readFileSync(leaf);
    bytes[100] = bytes[100]! ^ 0xff;
    fs.writeFileSync(leaf, bytes);
    const bad = await cast.clients.auditor.get(`/v1/audit/permits/${permitNo}/evidence-check`);
    expect(bad.status).to.equal(200);
    expect(bad.body.ok).to.equal(false);
    expect(bad.body.checks[0].sha256Matches).to.equal(false);
    expect(bad.body.checks[0].cidMatches).to.equal(false);
  });

  it('regulator: permits with filters, sorting and pagination once the indexer caught up', async () => {
    await indexer.waitForBlock(lastBlock);
    const r = await cast.clients.regulator.get(`/v1/regulator/permits?site=${cast.siteId}&type=hot_work&state=closed&sort=applied_at&order=asc&limit=10`);
    expect(r.status, r.text).to.equal(200);
    expect(r.body.total).to.equal(1);
    expect(r.body.items[0]).to.include({ permitNo, status: 'closed', operationType: 'hot_work', level: '2', orgMsp: 'EnterpriseMSP' });
    const none = await cast.clients.regulator.get(`/v1/regulator/permits?site=${cast.siteId}&state=active`);
    expect(none.body.total).to.equal(0);
    const page = await cast.clients.regulator.get(`/v1/regulator/permits?limit=1&offset=0&sort=permit_no`);
    expect(page.body.items).to.have.length(1);
    expect(page.body.total).to.be.greaterThan(0);
  });

  it("regulator: the permit's timeline with sign-offs, gas tests, gate checks and evidence", async () => {
    const r = await cast.clients.regulator.get(`/v1/regulator/permits/${permitNo}/timeline`);
    expect(r.status, r.text).to.equal(200);
    const kinds = new Set(r.body.events.map((e: { kind: string }) => e.kind));
    for (const k of ['step', 'sign_off', 'gas_test', 'gate_check', 'evidence', 'flag']) expect(kinds.has(k), k).to.equal(true);
    expect(r.body.evidence).to.have.length(1);
    const missing = await cast.clients.regulator.get(`/v1/regulator/permits/NO-SUCH-PERMIT/timeline`);
    expect(missing.status).to.equal(404);
    expect(missing.body.error.code).to.equal('NOT_FOUND');
  });

  it('regulator: alarms, KPIs, monthly report as JSON and CSV, expiring certificates', async () => {
    const alarms = await cast.clients.regulator.get('/v1/regulator/alarms?limit=5');
    expect(alarms.status, alarms.text).to.equal(200);
    expect(alarms.body).to.have.property('responseTime');
    const kpis = await cast.clients.regulator.get('/v1/regulator/kpis');
    expect(kpis.status, kpis.text).to.equal(200);
    expect(kpis.body.trainingCoverage.activeWorkers).to.be.greaterThan(0);
    expect(
      kpis.body.permitsByTypeAndState.some((p: { operationType: string; status: string }) => p.operationType === 'hot_work' && p.status === 'closed'),
    ).to.equal(true);
    // The report's months are the regulator's (Asia/Shanghai by default), not UTC's.
    const month = monthOf(Date.now(), 'Asia/Shanghai');
    const json = await cast.clients.regulator.get(`/v1/regulator/reports/monthly?month=${month}`);
    expect(json.status).to.equal(200);
    expect(json.body.permitsTotal).to.be.greaterThan(0);
    const csv = await cast.clients.regulator.get(`/v1/regulator/reports/monthly?month=${month}&format=csv`);
    expect(csv.status).to.equal(200);
    expect(csv.headers.get('content-type')).to.match(/^text\/csv/);
    expect(csv.text.split('\n')[0]).to.equal('section,key,value');
    expect(csv.text).to.match(/permits,hot_work\/2\/closed,\d+/);
    const exp = await cast.clients.regulator.get('/v1/certificates-expiring?days=3650');
    expect(exp.status).to.equal(200);
    expect(exp.body.total).to.be.greaterThan(0);
  });

  it('regulator endpoints refuse enterprise roles that do not oversee the enterprise (403) and everyone unauthenticated (401)', async () => {
    const r = await cast.clients.applicant.get('/v1/regulator/kpis');
    expect(r.status).to.equal(403);
    expect(r.body.error.code).to.equal('FORBIDDEN');
    const anon = await new Client(gw.url).get('/v1/regulator/kpis');
    expect(anon.status).to.equal(401);
    expect(anon.body.error.code).to.equal('UNAUTHENTICATED');
  });
});
