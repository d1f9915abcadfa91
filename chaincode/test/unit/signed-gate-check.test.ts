/**
 * credential:RecordSignedGateCheck on the in-memory stub: the gate device's signature, the
 * worker code and the worker's certificates are all checked by the chaincode; the gate's and
 * the ledger's decisions are both recorded and a disagreement is flagged.
 */

import { createHash } from 'node:crypto';
import type { CertificateRecord, GateCheckRecord, WorkerRecord } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import { type GateDecision, type GateScan, signGateCheck, signWorkerCode, workerCodePayload } from '../../../gate-verifier/src/index';
import { DAY, fresh, GATE_KEY, GUARDIAN, OUTSIDER, SITE, seed, toSignedOff, W1, W2, who } from '../support/fixtures';
import type { Harness } from '../support/harness';

const OFFICE_KEY = new Wallet(`0x${'66'.repeat(32)}`);
const PASS = (snapshotHeight = 40): GateDecision => ({ pass: true, workerId: W1, certificateIds: [], epoch: 0, snapshotHeight, reason: 'ok' });

async function issued(): Promise<Harness> {
  const h = fresh();
  await seed(h);
  await h.ok('device', 'Register', who.admin, { deviceId: 'office-1', siteId: SITE, areaId: 'hq', address: OFFICE_KEY.address, kind: 'credential_office' });
  await toSignedOff(h, 'SG-1');
  await h.ok('permit', 'Issue', who.approverUnit, { permitNo: 'SG-1' });
  return h;
}

/** The worker's current code, issued from the harness ledger at its clock. */
async function codeOf(h: Harness, workerId: string, signer: Pick<Wallet, 'signTypedData'> = OFFICE_KEY): Promise<string> {
  const w = await h.read<WorkerRecord>('credential', 'GetWorker', who.officer, { workerId });
  const certs = await h.read<CertificateRecord[]>('credential', 'ListCertificates', who.officer, { workerId });
  return signWorkerCode(signer, workerCodePayload(w, certs, { officeId: 'office-1', enterprise: 'EnterpriseMSP', nowMs: h.now, ttlMs: 30 * DAY }));
}

const scan = (h: Harness, code: string, o: Partial<GateScan> = {}): GateScan => ({
  gateCheckId: `gc-${Math.random().toString(36).slice(2, 10)}`,
  deviceId: 'gate-1',
  permitNo: 'SG-1',
  role: 'worker',
  code,
  decision: PASS(),
  faceMatched: true,
  healthDeclared: true,
  biometricRecord: 'score=9300;template=t-17;photo=sha256:ab',
  offline: false,
  checkedAt: h.now,
  ...o,
});

describe('credentials: gate checks signed by the gate device', () => {
  it('records a device-signed pass the ledger agrees with, with hashes only and no face score', async () => {
    const h = await issued();
    const g = await h.ok<GateCheckRecord>('credential', 'RecordSignedGateCheck', who.gateway, await signGateCheck(GATE_KEY, scan(h, await codeOf(h, W1))));
    expect(g).to.include({ workerId: W1, passed: true });
    expect(g.methods.face).to.deep.equal({ scoreBp: null, deviceId: 'gate-1', templateSha256: null, passed: true });
    expect(g.device).to.include({
      signer: GATE_KEY.address,
      gateDecision: 'pass',
      ledgerDecision: 'pass',
      disagreement: false,
      offline: false,
      snapshotHeight: 40,
    });
    expect(g.device?.biometricSha256).to.match(/^0x[0-9a-f]{64}$/);
    expect(g.device?.codeEpoch).to.equal(1);
    // It counts for activation like any passing gate check.
    const list = await h.read<GateCheckRecord[]>('credential', 'ListGateChecks', who.regulator, { permitNo: 'SG-1' });
    expect(list.map((x) => x.gateCheckId)).to.deep.equal([g.gateCheckId]);
  });

  it('refuses a forged device signature, a changed field, a non-gate device and a code that is not the signed one; nothing is written', async () => {
    const h = await issued();
    const code = await codeOf(h, W1);
    const forged = await signGateCheck(Wallet.createRandom(), scan(h, code));
    await h.fails('SIGNATURE_INVALID', 'credential', 'RecordSignedGateCheck', who.gateway, forged);
    const signed = await signGateCheck(GATE_KEY, scan(h, code, { decision: { pass: false, code: 'REVOKED', reason: 'x', snapshotHeight: 40 } }));
    await h.fails('SIGNATURE_INVALID', 'credential', 'RecordSignedGateCheck', who.gateway, { ...signed, check: { ...signed.check, decision: 'pass' } });
    const other = await codeOf(h, W2);
    await h.fails('VALIDATION_FAILED', 'credential', 'RecordSignedGateCheck', who.gateway, { ...signed, code: other });
    await h.fails('RULE_VIOLATION', 'credential', 'RecordSignedGateCheck', who.gateway, await signGateCheck(GATE_KEY, scan(h, code, { deviceId: 'cam-1' })));
    await h.fails('NOT_FOUND', 'credential', 'RecordSignedGateCheck', who.gateway, await signGateCheck(GATE_KEY, scan(h, code, { deviceId: 'gate-9' })));
    await h.fails('FORBIDDEN', 'credential', 'RecordSignedGateCheck', who.guardian, await signGateCheck(GATE_KEY, scan(h, code)));
    expect(await h.read('credential', 'ListGateChecks', who.regulator, { permitNo: 'SG-1' })).to.deep.equal([]);
  });

  it('flags an offline pass on a code revoked since the snapshot, and a code signed by an unregistered key', async () => {
    const h = await issued();
    const old = await codeOf(h, W2);
    await h.ok('credential', 'SetCertificateStatus', who.officer, { certificateId: 'cert-w2', status: 'revoked', reason: 'Forged training record' });
    const g = await h.ok<GateCheckRecord>(
      'credential',
      'RecordSignedGateCheck',
      who.gateway,
      await signGateCheck(GATE_KEY, scan(h, old, { offline: true, decision: { ...PASS(12), workerId: W2 } })),
    );
    expect(g).to.include({ workerId: W2, passed: false });
    expect(g.device).to.include({ gateDecision: 'pass', ledgerDecision: 'REVOKED', disagreement: true, offline: true, snapshotHeight: 12 });
    // The current code after the change: the epoch is right, but the certificate is gone.
    const current = await h.ok<GateCheckRecord>(
      'credential',
      'RecordSignedGateCheck',
      who.gateway,
      await signGateCheck(GATE_KEY, scan(h, await codeOf(h, W2))),
    );
    expect(current.device).to.include({ ledgerDecision: 'NOT_QUALIFIED', disagreement: true });
    expect(current.methods.certificate.reason).to.equal('no qualifying welding_cutting certificate');

    const rogue = await codeOf(h, W1, Wallet.createRandom());
    const r = await h.ok<GateCheckRecord>(
      'credential',
      'RecordSignedGateCheck',
      who.gateway,
      await signGateCheck(GATE_KEY, scan(h, rogue, { decision: { pass: false, code: 'UNREGISTERED_KEY', reason: 'x', snapshotHeight: 40 } })),
    );
    expect(r.device).to.include({ gateDecision: 'UNREGISTERED_KEY', ledgerDecision: 'BAD_SIGNATURE', disagreement: false });
    expect(r.passed).to.equal(false);
  });

  it("refuses a code whose holder is not the permit's worker or guardian in the role scanned", async () => {
    const h = await issued();
    await h.ok('credential', 'AddCertificate', who.officer, {
      certificateId: 'cert-outsider',
      workerId: OUTSIDER,
      category: 'welding_cutting',
      item: '熔化焊接与热切割作业',
      authority: 'Provincial emergency management department',
      validFrom: '2024-01-01T00:00:00Z',
      validUntil: '2030-01-01T00:00:00Z',
      reviewDue: '2027-01-01T00:00:00Z',
      scanSha256: 'e3'.repeat(32),
    });
    await h.fails('RULE_VIOLATION', 'credential', 'RecordSignedGateCheck', who.gateway, await signGateCheck(GATE_KEY, scan(h, await codeOf(h, OUTSIDER))));
    await h.fails(
      'RULE_VIOLATION',
      'credential',
      'RecordSignedGateCheck',
      who.gateway,
      await signGateCheck(GATE_KEY, scan(h, await codeOf(h, W1), { role: 'guardian' })),
    );
    const g = await h.ok<GateCheckRecord>(
      'credential',
      'RecordSignedGateCheck',
      who.gateway,
      await signGateCheck(GATE_KEY, scan(h, await codeOf(h, GUARDIAN), { role: 'guardian' })),
    );
    expect(g.device).to.include({ role: 'guardian', ledgerDecision: 'pass' });
  });

  it('records the photo of the person at the gate by the hash and type the device signed, and refuses a stored photo that is not that one', async () => {
    const h = await issued();
    const code = await codeOf(h, W1);
    const bytes = Buffer.concat([Buffer.from('ffd8ffe000104a464946', 'hex'), Buffer.from('the person at the gate')]);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const photo = { cid: `b${'a'.repeat(58)}`, sha256, sizeBytes: bytes.length, mediaType: 'image/jpeg' as const };
    const signed = await signGateCheck(GATE_KEY, scan(h, code, { photo: { bytes, mediaType: 'image/jpeg' } }));
    expect(signed.check).to.include({ photoSha256: `0x${sha256}`, photoType: 'image/jpeg' });

    // The signed photo without its stored copy, a stored photo of other bytes or of another type,
    // a photo the device did not sign, and the photo fields stripped from a signed check.
    await h.fails('VALIDATION_FAILED', 'credential', 'RecordSignedGateCheck', who.gateway, signed);
    await h.fails('VALIDATION_FAILED', 'credential', 'RecordSignedGateCheck', who.gateway, { ...signed, photo: { ...photo, sha256: 'ab'.repeat(32) } });
    await h.fails('VALIDATION_FAILED', 'credential', 'RecordSignedGateCheck', who.gateway, { ...signed, photo: { ...photo, mediaType: 'image/png' } });
    const unsigned = await signGateCheck(GATE_KEY, scan(h, code));
    await h.fails('VALIDATION_FAILED', 'credential', 'RecordSignedGateCheck', who.gateway, { ...unsigned, photo });
    const { photoSha256: _s, photoType: _t, ...stripped } = signed.check;
    await h.fails('SIGNATURE_INVALID', 'credential', 'RecordSignedGateCheck', who.gateway, { ...signed, check: stripped });
    await h.fails('SIGNATURE_INVALID', 'credential', 'RecordSignedGateCheck', who.gateway, {
      ...signed,
      check: { ...signed.check, photoSha256: `0x${'ab'.repeat(32)}` },
      photo: { ...photo, sha256: 'ab'.repeat(32) },
    });
    expect(await h.read('credential', 'ListGateChecks', who.regulator, { permitNo: 'SG-1' })).to.deep.equal([]);

    const g = await h.ok<GateCheckRecord>('credential', 'RecordSignedGateCheck', who.gateway, { ...signed, photo });
    expect(g.passed).to.equal(true);
    expect(g.device?.photo).to.deep.equal(photo);
    expect(JSON.stringify(g)).not.to.contain(bytes.toString('hex'));
  });
});
