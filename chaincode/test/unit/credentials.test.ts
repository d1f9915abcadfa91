import { type CertificateRecord, ENTERPRISE_PRIVATE_COLLECTION, type GateCheckRecord, type WorkerRecord } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { application, certificate, DAY, fresh, gateCheck, HOUR, iso, OUTSIDER, seed, toActive, toSignedOff, W1, W2, who } from '../support/fixtures';
import { T0, workerId } from '../support/harness';

const NAME = '张三丰';
const ID_NUMBER = '11010119900101123X';
const CERT_NO = 'T110101199001011234';
const SALT = 'q3J8x0Vv2m9Lr7TnY4pWc1';

describe('credentials: workers and certificates', () => {
  it('registers a worker once, by pseudonymous id', async () => {
    const h = fresh();
    const w = await h.ok('credential', 'RegisterWorker', who.officer, { workerId: W1 });
    expect(w).to.include({ workerId: W1, status: 'active' });
    await h.fails('ALREADY_EXISTS', 'credential', 'RegisterWorker', who.officer, { workerId: W1 });
    await h.fails('VALIDATION_FAILED', 'credential', 'RegisterWorker', who.officer, { workerId: ID_NUMBER });
    await h.fails('INVALID_STATE', 'credential', 'SetWorkerStatus', who.officer, { workerId: W1, status: 'active', reason: 'x' });
  });

  it('adds certificates for registered workers; refuses bad dates and duplicates', async () => {
    const h = fresh();
    await h.ok('credential', 'RegisterWorker', who.officer, { workerId: W1 });
    await h.fails('NOT_FOUND', 'credential', 'AddCertificate', who.officer, certificate('c-x', W2, 'electrician'));
    // Valid until before valid from, a review after the end, a scan hash that is not hex.
    for (const bad of [{ validUntil: '2023-01-01T00:00:00Z' }, { reviewDue: '2031-01-01T00:00:00Z' }, { scanSha256: 'nothex' }]) {
      await h.fails('VALIDATION_FAILED', 'credential', 'AddCertificate', who.officer, certificate('c-1', W1, 'electrician', bad));
    }
    await h.fails(
      'VALIDATION_FAILED',
      'credential',
      'AddCertificate',
      who.officer,
      certificate('c-1', W1, 'electrician', { validUntil: '2030-01-01T00:00:00.001Z', reviewDue: '2027-01-01T00:00:00Z', validFrom: '2024-01-01T00:00:00Z' }),
    );
    // Year 0000 passes ISO-8601 but not PostgreSQL: valid on the ledger, it would stop the regulator's mirror at its block.
    for (const [field, at] of [
      ['validFrom', '0000-01-01T00:00:00Z'],
      ['validFrom', '1969-12-31T23:59:59Z'],
    ] as const) {
      const m = await h.fails('VALIDATION_FAILED', 'credential', 'AddCertificate', who.officer, certificate('c-1', W1, 'electrician', { [field]: at }));
      expect(m).to.contain(`${field}: must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z`);
    }
    const c = await h.ok<CertificateRecord>('credential', 'AddCertificate', who.officer, certificate('c-1', W1, 'electrician'));
    expect(c.status).to.equal('valid');
    await h.fails('ALREADY_EXISTS', 'credential', 'AddCertificate', who.officer, certificate('c-1', W1, 'electrician'));
    const list = await h.read('credential', 'ListCertificates', who.regulator, { workerId: W1 });
    expect(list.map((x: CertificateRecord) => x.certificateId)).to.deep.equal(['c-1']);
  });

  it('suspension, reinstatement and final revocation are recorded', async () => {
    const h = fresh();
    await h.ok('credential', 'RegisterWorker', who.officer, { workerId: W1 });
    await h.ok('credential', 'AddCertificate', who.officer, certificate('c-1', W1, 'electrician'));
    const s = await h.ok<CertificateRecord>('credential', 'SetCertificateStatus', who.officer, {
      certificateId: 'c-1',
      status: 'suspended',
      reason: 'Violation under investigation',
    });
    expect(s.statusHistory[0]).to.include({ status: 'suspended', reason: 'Violation under investigation' });
    await h.ok('credential', 'SetCertificateStatus', who.officer, { certificateId: 'c-1', status: 'valid', reason: 'Cleared' });
    await h.ok('credential', 'SetCertificateStatus', who.regulator, { certificateId: 'c-1', status: 'revoked', reason: 'Forged training record' });
    await h.fails('INVALID_STATE', 'credential', 'SetCertificateStatus', who.officer, { certificateId: 'c-1', status: 'valid', reason: 'appeal' });
    await h.fails('NOT_FOUND', 'credential', 'SetCertificateStatus', who.officer, { certificateId: 'c-404', status: 'revoked', reason: 'x' });
  });

  it('a review can be recorded from exactly 60 days before the due date, not earlier, not after', async () => {
    const h = fresh();
    await h.ok('credential', 'RegisterWorker', who.officer, { workerId: W1 });
    const due = Date.parse('2027-01-01T00:00:00Z');
    await h.ok('credential', 'AddCertificate', who.officer, certificate('c-1', W1, 'electrician'));
    await h.ok('credential', 'AddCertificate', who.officer, certificate('c-2', W1, 'electrician'));
    const next = { certificateId: 'c-1', nextReviewDue: '2029-12-01T00:00:00Z' };
    h.now = due - 60 * DAY - 1;
    await h.fails('RULE_VIOLATION', 'credential', 'RecordCertificateReview', who.officer, next);
    h.now = due - 60 * DAY;
    await h.fails('VALIDATION_FAILED', 'credential', 'RecordCertificateReview', who.officer, { ...next, nextReviewDue: '2030-06-01T00:00:00Z' });
    const r = await h.ok<CertificateRecord>('credential', 'RecordCertificateReview', who.officer, next);
    expect(r.reviewDue).to.equal('2029-12-01T00:00:00.000Z');
    expect(r.reviews[0]?.previousDue).to.equal('2027-01-01T00:00:00.000Z');
    h.now = due + 1;
    const m = await h.fails('RULE_VIOLATION', 'credential', 'RecordCertificateReview', who.officer, {
      certificateId: 'c-2',
      nextReviewDue: '2029-12-01T00:00:00Z',
    });
    expect(m).to.contain('missed');
    const c2 = await h.read('credential', 'GetCertificate', who.regulator, { certificateId: 'c-2' });
    expect(c2.condition).to.equal('review_overdue');
    expect(c2.alerts.reviewOverdue).to.equal(true);
  });
});

describe('credentials: six months off the job', () => {
  it('a window starting six months after the last time on the job needs the practical exam again; completing a permit restarts the clock', async () => {
    const h = fresh();
    await seed(h); // every worker registered at T0
    const sixMonths = Date.parse('2026-12-01T08:00:00.000Z');
    const from = (permitNo: string, start: number) => application(permitNo, { plannedStart: iso(start), plannedEnd: iso(start + 8 * HOUR) });
    await h.ok('permit', 'Apply', who.applicant, from('OJ-1', sixMonths - 1000));
    const m = await h.fails('RULE_VIOLATION', 'permit', 'Apply', who.applicant, from('OJ-2', sixMonths));
    expect(m).to.contain('cert-w1 off the job since 2026-06-01T08:00:00.000Z').and.to.contain('cert-w2 off the job');

    h.now = T0 + 2 * HOUR;
    await h.fails('VALIDATION_FAILED', 'credential', 'RecordPracticalExam', who.officer, { certificateId: 'cert-w1', examinedAt: iso(T0 + 3 * HOUR) });
    await h.fails('VALIDATION_FAILED', 'credential', 'RecordPracticalExam', who.officer, { certificateId: 'cert-w1', examinedAt: '2023-12-31T00:00:00Z' });
    await h.fails('NOT_FOUND', 'credential', 'RecordPracticalExam', who.officer, { certificateId: 'cert-404', examinedAt: iso(T0) });
    await h.fails('FORBIDDEN', 'credential', 'RecordPracticalExam', who.applicant, { certificateId: 'cert-w1', examinedAt: iso(T0 + HOUR) });
    const c = await h.ok<CertificateRecord>('credential', 'RecordPracticalExam', who.officer, { certificateId: 'cert-w1', examinedAt: iso(T0 + HOUR) });
    expect(c.practicalExams.map((e) => e.examinedAt)).to.deep.equal([iso(T0 + HOUR)]);
    // W1 was examined an hour after registration; W2 still counts from registration
    const m2 = await h.fails('RULE_VIOLATION', 'permit', 'Apply', who.applicant, from('OJ-3', sixMonths));
    expect(m2).to.contain('cert-w2 off the job').and.not.to.contain('cert-w1');

    // W2 works on a permit to completion: the clock restarts at completion
    h.now = T0;
    await toActive(h, 'OJ-W');
    h.now = T0 + 3 * HOUR;
    await h.ok('permit', 'Complete', who.pic, { permitNo: 'OJ-W', siteRestored: true });
    const w2 = await h.read<WorkerRecord>('credential', 'GetWorker', who.officer, { workerId: W2 });
    expect(w2.lastWorkedAt).to.equal(iso(T0 + 3 * HOUR));
    await h.ok('permit', 'Apply', who.applicant, from('OJ-4', sixMonths));
  });
});

describe('credentials: gate checks', () => {
  it('records each method; the certificate check is judged by the chaincode against the permit', async () => {
    const h = fresh();
    await seed(h);
    await toSignedOff(h, 'GK-1');
    await h.fails('INVALID_STATE', 'credential', 'RecordGateCheck', who.gateway, {
      gateCheckId: 'g0',
      permitNo: 'GK-1',
      workerId: W1,
      qr: { passed: true },
      face: { scoreBp: 9000, deviceId: 'gate-1' },
      health: { passed: true },
    });
    await h.ok('permit', 'Issue', who.approverUnit, { permitNo: 'GK-1' });
    const g = await h.ok<GateCheckRecord>(
      'credential',
      'RecordGateCheck',
      who.gateway,
      gateCheck('g1', 'GK-1', W1, { scoreBp: 9000, templateSha256: 'ab'.repeat(32) }),
    );
    expect(g.passed).to.equal(true);
    expect(g.methods.certificate).to.deep.equal({ certificateIds: ['cert-w1'], passed: true, reason: 'ok' });
    expect(g.at).to.equal(iso(h.now));
    await h.fails('ALREADY_EXISTS', 'credential', 'RecordGateCheck', who.gateway, gateCheck('g1', 'GK-1', W1, { scoreBp: 9000 }));
    // the certificate is suspended after issue: the gate check fails on the certificate method
    await h.ok('credential', 'SetCertificateStatus', who.officer, { certificateId: 'cert-w2', status: 'suspended', reason: 'x' });
    const g2 = await h.ok<GateCheckRecord>('credential', 'RecordGateCheck', who.gateway, gateCheck('g2', 'GK-1', W2, { scoreBp: 9900 }));
    expect(g2.passed).to.equal(false);
    expect(g2.methods.certificate.passed).to.equal(false);
    const g3 = await h.ok<GateCheckRecord>('credential', 'RecordGateCheck', who.gateway, {
      ...gateCheck('g3', 'GK-1', W1, { scoreBp: 9900 }),
      health: { passed: false },
    });
    expect(g3.passed).to.equal(false);
    // not on the permit; unknown face device; a sensor cannot do face checks
    await h.fails('RULE_VIOLATION', 'credential', 'RecordGateCheck', who.gateway, gateCheck('g4', 'GK-1', OUTSIDER, { scoreBp: 9900 }));
    await h.fails('NOT_FOUND', 'credential', 'RecordGateCheck', who.gateway, gateCheck('g5', 'GK-1', W1, { scoreBp: 9900, deviceId: 'gate-9' }));
    await h.fails('RULE_VIOLATION', 'credential', 'RecordGateCheck', who.gateway, gateCheck('g6', 'GK-1', W1, { scoreBp: 9900, deviceId: 'gas-1' }));
    const list = await h.read('credential', 'ListGateChecks', who.regulator, { permitNo: 'GK-1' });
    expect(list).to.have.length(3);
  });
});

describe('privacy: personal fields never reach public state', () => {
  async function storeAll(h: ReturnType<typeof fresh>) {
    await seed(h);
    await h.ok(
      'credential',
      'StoreWorkerPersonalData',
      who.officer,
      { workerId: W1 },
      { personal: { name: NAME, idNumber: ID_NUMBER, phone: '13800138000', salt: SALT } },
    );
    await h.ok('credential', 'StoreCertificateNumber', who.officer, { certificateId: 'cert-w1' }, { personal: { certificateNo: CERT_NO, salt: SALT } });
  }

  it('names, ID numbers, phone and certificate numbers go only to the enterprise implicit collection', async () => {
    const h = fresh();
    await storeAll(h);
    await h.ok('permit', 'Apply', who.applicant, application('P-1'));
    const needles = [NAME, ID_NUMBER, CERT_NO, '13800138000', SALT, '110101199001011234'];
    // every block: arguments, public writes, private write hashes, events, responses
    const chain = JSON.stringify(h.ledger.blocks);
    for (const n of needles) expect(chain.includes(n), `"${n}" leaked into a block`).to.equal(false);
    const world = JSON.stringify([...h.ledger.state.entries()].map(([k, v]) => [k, v.toString('utf8')]));
    for (const n of needles) expect(world.includes(n), `"${n}" leaked into public state`).to.equal(false);
    // and the private collection really holds them
    const priv = h.ledger.privateState.get(ENTERPRISE_PRIVATE_COLLECTION);
    expect(priv).to.not.equal(undefined);
    const all = [...(priv as Map<string, Buffer>).values()].map((b) => b.toString('utf8')).join('\n');
    expect(all).to.contain(NAME).and.contain(ID_NUMBER).and.contain(CERT_NO);
    // the transactions that wrote private data wrote no public key (only enterprise peers need to endorse)
    const privTxs = h.ledger.blocks.filter((b) => b.privateWrites.length > 0);
    expect(privTxs).to.have.length(2);
    for (const b of privTxs) expect(b.writes).to.deep.equal([]);
    // GetWorker tells whether personal data exists, from the hash only
    const w = await h.read('credential', 'GetWorker', who.regulator, { workerId: W1 });
    expect(w.personalDataStored).to.equal(true);
    expect((await h.read('credential', 'GetWorker', who.regulator, { workerId: W2 })).personalDataStored).to.equal(false);
  });

  it('refuses personal fields outside the transient map and malformed transient data', async () => {
    const h = fresh();
    await seed(h);
    await h.fails('VALIDATION_FAILED', 'credential', 'StoreWorkerPersonalData', who.officer, { workerId: W1, name: NAME });
    await h.fails('VALIDATION_FAILED', 'credential', 'StoreWorkerPersonalData', who.officer, { workerId: W1 });
    await h.fails(
      'VALIDATION_FAILED',
      'credential',
      'StoreWorkerPersonalData',
      who.officer,
      { workerId: W1 },
      { personal: { name: NAME, idNumber: ID_NUMBER } },
    );
    await h.fails('VALIDATION_FAILED', 'credential', 'StoreWorkerPersonalData', who.officer, { workerId: W1 }, { personal: '{oops' });
    await h.fails(
      'NOT_FOUND',
      'credential',
      'StoreWorkerPersonalData',
      who.officer,
      { workerId: workerId('nobody') },
      { personal: { name: NAME, idNumber: ID_NUMBER, salt: SALT } },
    );
    await h.fails('VALIDATION_FAILED', 'credential', 'RegisterWorker', who.officer, { workerId: W1, idNumber: ID_NUMBER });
    expect(JSON.stringify(h.ledger.blocks).includes(ID_NUMBER)).to.equal(false);
  });

  it('reading personal data needs a logged access by the same identity within 15 min', async () => {
    const h = fresh();
    await storeAll(h);
    await h.fails('FORBIDDEN', 'credential', 'ReadPersonalData', who.officer, { accessId: 'acc-1' });
    const log = await h.ok('credential', 'LogPersonalDataAccess', who.officer, {
      accessId: 'acc-1',
      subject: { kind: 'worker', id: W1 },
      purpose: 'Verify identity for incident report 42',
    });
    expect(log.accessor.certificateId).to.equal(who.officer.id);
    expect(h.lastEvent().type).to.equal('PersonalDataAccessLogged');
    h.now += 15 * 60_000;
    const r = await h.read('credential', 'ReadPersonalData', who.officer, { accessId: 'acc-1' });
    expect(r).to.include({ name: NAME, idNumber: ID_NUMBER });
    h.now += 1;
    await h.fails('FORBIDDEN', 'credential', 'ReadPersonalData', who.officer, { accessId: 'acc-1' });
    const otherOfficer = { ...who.officer, id: 'x509::/CN=officer-2' };
    h.now -= 1;
    await h.fails('FORBIDDEN', 'credential', 'ReadPersonalData', otherOfficer, { accessId: 'acc-1' });
    await h.ok('credential', 'LogPersonalDataAccess', who.officer, {
      accessId: 'acc-2',
      subject: { kind: 'certificate', id: 'cert-w1' },
      purpose: 'Authority verification',
    });
    expect(await h.read('credential', 'ReadPersonalData', who.officer, { accessId: 'acc-2' })).to.include({ certificateNo: CERT_NO });
    await h.fails('NOT_FOUND', 'credential', 'LogPersonalDataAccess', who.officer, {
      accessId: 'acc-3',
      subject: { kind: 'worker', id: workerId('ghost') },
      purpose: 'x',
    });
    // reads are never submitted, so nothing personal is in a block
    expect(JSON.stringify(h.ledger.blocks).includes(NAME)).to.equal(false);
  });

  // Found on the real network: a client that names the regulator among the endorsing orgs sends
  // the transient personal data to the regulator's peer, which executes and endorses it.
  it("a chaincode server that knows its peer refuses personal data on any peer but the enterprise's", async () => {
    const saved = process.env.CORE_PEER_LOCALMSPID;
    try {
      const h = fresh();
      await seed(h);
      const personal = { personal: { name: NAME, idNumber: ID_NUMBER, salt: SALT } };
      process.env.CORE_PEER_LOCALMSPID = 'RegulatorMSP';
      const m = await h.fails('FORBIDDEN', 'credential', 'StoreWorkerPersonalData', who.officer, { workerId: W1 }, personal);
      expect(m).to.contain('EnterpriseMSP peers');
      await h.fails(
        'FORBIDDEN',
        'credential',
        'StoreCertificateNumber',
        who.officer,
        { certificateId: 'cert-w1' },
        { personal: { certificateNo: CERT_NO, salt: SALT } },
      );
      await h.fails('FORBIDDEN', 'credential', 'ErasePersonalData', who.officer, { subject: { kind: 'worker', id: W1 }, reason: 'x' });
      process.env.CORE_PEER_LOCALMSPID = 'EnterpriseMSP';
      await h.ok('credential', 'StoreWorkerPersonalData', who.officer, { workerId: W1 }, personal);
      await h.ok('credential', 'LogPersonalDataAccess', who.officer, { accessId: 'acc-p', subject: { kind: 'worker', id: W1 }, purpose: 'Identity check' });
      expect(await h.read('credential', 'ReadPersonalData', who.officer, { accessId: 'acc-p' })).to.include({ name: NAME });
      process.env.CORE_PEER_LOCALMSPID = 'RegulatorMSP';
      expect((await h.evaluate('credential', 'ReadPersonalData', who.officer, { accessId: 'acc-p' })).error?.message).to.match(/^FORBIDDEN: /);
      // a shared server (no CORE_PEER_LOCALMSPID) cannot tell and leaves it to the client
      delete process.env.CORE_PEER_LOCALMSPID;
      await h.ok('credential', 'StoreCertificateNumber', who.officer, { certificateId: 'cert-w1' }, { personal: { certificateNo: CERT_NO, salt: SALT } });
    } finally {
      if (saved === undefined) delete process.env.CORE_PEER_LOCALMSPID;
      else process.env.CORE_PEER_LOCALMSPID = saved;
    }
  });

  it('erasure purges the private value and leaves a public trace without personal fields', async () => {
    const h = fresh();
    await storeAll(h);
    const r = await h.ok('credential', 'ErasePersonalData', who.officer, { subject: { kind: 'worker', id: W1 }, reason: 'Worker left; erasure requested' });
    expect(r.erasedBy.role).to.equal('credential_officer');
    const privKeys = [...(h.ledger.privateState.get(ENTERPRISE_PRIVATE_COLLECTION) ?? new Map()).keys()];
    expect(privKeys.some((k) => k.includes(W1))).to.equal(false);
    expect(privKeys.some((k) => k.includes('cert-w1'))).to.equal(true);
    expect((await h.read('credential', 'GetWorker', who.regulator, { workerId: W1 })).personalDataStored).to.equal(false);
    await h.fails('NOT_FOUND', 'credential', 'ErasePersonalData', who.officer, { subject: { kind: 'worker', id: W1 }, reason: 'again' });
    await h.fails('FORBIDDEN', 'credential', 'ErasePersonalData', who.regulator, { subject: { kind: 'certificate', id: 'cert-w1' }, reason: 'x' });
    expect(JSON.stringify(h.ledger.blocks).includes(NAME)).to.equal(false);
    // the certificate number is still there
    expect((await h.read('credential', 'GetCertificate', who.regulator, { certificateId: 'cert-w1' })).numberStored).to.equal(true);
  });

  it('a certificate expiring inside the window is caught at application', async () => {
    const h = fresh();
    await seed(h);
    await h.ok('credential', 'RegisterWorker', who.officer, { workerId: workerId('short') });
    await h.ok(
      'credential',
      'AddCertificate',
      who.officer,
      certificate('c-short', workerId('short'), 'welding_cutting', { validUntil: iso(T0 + 2 * HOUR), reviewDue: iso(T0 + 2 * HOUR) }),
    );
    await h.fails('RULE_VIOLATION', 'permit', 'Apply', who.applicant, application('X-1', { workers: [workerId('short')] }));
  });
});
