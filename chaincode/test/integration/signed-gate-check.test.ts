/**
 * Issue 15 on the real network, at the gate: worker codes printed as QR PNGs and read back by an
 * independent decoder, decided by the gate verifier online (a fresh snapshot and the channel
 * height) and offline (a snapshot taken earlier), then signed by the gate device and recorded
 * with credential:RecordSignedGateCheck, whose device signature and re-check the chaincode does.
 * The cases the other worker-code suite does not cover: an expired certificate, the wrong
 * category for the permit type, a forged gate signature, and an old code after a change.
 */
import type { ConnectionProfile, GateCheckRecord, GateRole, GateSnapshot } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import {
  buildGateSnapshot,
  channelHeight,
  decideAtGate,
  type GateContext,
  type GateDecision,
  signGateCheck,
  workerCodePng,
} from '../../../gate-verifier/src/index';
import { decodeWithJsQr, decodeWithZbarimg, hasZbarimg } from '../../../gate-verifier/test/support/qr';
import { Cast, certificateInput, DAY, guardianCertificate, iso, type Party, randomIdNumber, signedOffHotWork, workerIdOf } from '../support/ledger';
import { requireNetwork, uniqueId } from '../support/network';
import { issueWorkerCode } from '../support/worker-code';

describe('network: gate checks signed by the gate device, re-checked by the chaincode (real Fabric)', function () {
  this.timeout(300_000);
  let profile: ConnectionProfile;
  let cast: Cast;
  let officer: Party, admin: Party, applicant: Party, pic: Party, analyst: Party, approver: Party, gateway: Party;
  const office = Wallet.createRandom();
  const gateKey = Wallet.createRandom();
  const officeId = uniqueId('office');
  const gateId = uniqueId('gate');
  const workUnit = 'unit-gate';
  const GUARDIAN = workerIdOf(randomIdNumber());
  const PIC = workerIdOf(randomIdNumber());
  /** Three hot-work permits, one worker each: who goes through, whose certificate expires, whose category is wrong. */
  const crews = {
    valid: { worker: workerIdOf(randomIdNumber()), permitNo: uniqueId('HW-S') },
    expired: { worker: workerIdOf(randomIdNumber()), permitNo: uniqueId('HW-E') },
    category: { worker: workerIdOf(randomIdNumber()), permitNo: uniqueId('HW-C') },
  };
  const earlier = new Map<string, GateSnapshot>();

  const network = () => gateway.conn.gateway.getNetwork(profile.channel);
  const snapshotOf = (permitNo: string) => buildGateSnapshot(network(), profile.chaincode, permitNo);
  const online = async (permitNo: string, nowMs = Date.now()): Promise<GateContext> => ({
    permitNo,
    role: 'worker',
    nowMs,
    maxSnapshotAgeMs: 10 * 60_000,
    currentHeight: await channelHeight(network()),
    maxBlocksBehind: 0,
  });
  const offline = (permitNo: string, nowMs = Date.now()): GateContext => ({ permitNo, role: 'worker', nowMs, maxSnapshotAgeMs: 10 * 60_000 });

  /** The worker's current code, issued from the ledger, printed as a PNG and scanned back. */
  async function scanBadge(workerId: string): Promise<string> {
    const text = await issueWorkerCode(officer, workerId, { key: office, officeId }, 30 * DAY);
    const png = await workerCodePng(text);
    const read = hasZbarimg() ? decodeWithZbarimg(png, 'png') : decodeWithJsQr(png);
    expect(read).to.equal(text);
    return read;
  }

  /** What the gate device submits through the device gateway for a scan it decided. */
  const gateCheck = (permitNo: string, code: string, decision: GateDecision, o: { offline?: boolean; role?: GateRole; signer?: Wallet } = {}) =>
    signGateCheck(o.signer ?? gateKey, {
      gateCheckId: uniqueId('gc'),
      deviceId: gateId,
      permitNo,
      role: o.role ?? 'worker',
      code,
      decision,
      faceMatched: true,
      healthDeclared: true,
      biometricRecord: `face-match score=${9100 + Math.floor(Math.random() * 800)} photo=${uniqueId('photo')}`,
      offline: o.offline ?? false,
      checkedAt: Date.now(),
    });

  before(async function () {
    profile = requireNetwork(this);
    cast = new Cast(profile);
    officer = cast.person('sg-officer', 'enterprise', 'credential_officer');
    admin = cast.person('sg-admin', 'enterprise', 'admin');
    applicant = cast.person('sg-applicant', 'enterprise', 'applicant');
    pic = cast.person('sg-pic', 'enterprise', 'person_in_charge', { workerId: PIC });
    analyst = cast.person('sg-analyst', 'enterprise', 'gas_analyst');
    approver = cast.person('sg-approver', 'enterprise', 'approver', { department: workUnit, workerId: workerIdOf(randomIdNumber()) });
    gateway = cast.person('sg-gateway', 'enterprise', 'device_gateway');
    await admin.submit('device:Register', {
      deviceId: officeId,
      siteId: 'hq',
      areaId: 'credential-office',
      address: office.address,
      kind: 'credential_office',
    });
    await admin.submit('device:Register', { deviceId: gateId, siteId: 'site-sg', areaId: 'gate-1', address: gateKey.address, kind: 'gate' });
    for (const w of [GUARDIAN, PIC, ...Object.values(crews).map((c) => c.worker)]) await officer.submit('credential:RegisterWorker', { workerId: w });
    await officer.submit('credential:AddCertificate', guardianCertificate(uniqueId('cert-g'), GUARDIAN));
    for (const [name, c] of Object.entries(crews)) {
      await officer.submit('credential:AddCertificate', certificateInput(`${c.permitNo}-weld`, c.worker, 'welding_cutting', '熔化焊接与热切割作业'));
      if (name === 'category')
        await officer.submit('credential:AddCertificate', certificateInput(`${c.permitNo}-elec`, c.worker, 'electrician', '低压电工作业'));
    }
    for (const [i, c] of Object.values(crews).entries()) {
      await signedOffHotWork(
        { applicant, pic, analyst, approver },
        {
          permitNo: c.permitNo,
          siteId: uniqueId('site-sg'),
          zoneId: 'zone-1',
          x: i * 100,
          worker: c.worker,
          personInChargeId: PIC,
          guardianId: GUARDIAN,
          workUnit,
          activities: [],
          hours: 4,
        },
      );
      await approver.submit('permit:Issue', { permitNo: c.permitNo });
      earlier.set(c.permitNo, await snapshotOf(c.permitNo));
    }
  });
  after(() => cast?.close());

  it('records a passing scan signed by the gate device; the ledger agrees, and only hashes of the face match are on it', async () => {
    const { worker, permitNo } = crews.valid;
    const code = await scanBadge(worker);
    const decision = decideAtGate(code, await snapshotOf(permitNo), await online(permitNo));
    expect(decision).to.include({ pass: true, workerId: worker });
    expect(decideAtGate(code, earlier.get(permitNo)!, offline(permitNo))).to.include({ pass: true });
    const r = await gateway.submit<GateCheckRecord>('credential:RecordSignedGateCheck', await gateCheck(permitNo, code, decision));
    expect(r.value).to.include({ workerId: worker, passed: true });
    expect(r.value.device).to.include({
      deviceId: gateId,
      signer: gateKey.address,
      gateDecision: 'pass',
      ledgerDecision: 'pass',
      disagreement: false,
      offline: false,
    });
    expect(r.value.device?.snapshotHeight).to.equal(decision.snapshotHeight);
    expect(r.value.methods.face).to.include({ scoreBp: null, passed: true });
    const checks = await officer.evaluate<GateCheckRecord[]>('credential:ListGateChecks', { permitNo });
    expect(checks.map((c) => c.txId)).to.deep.equal([r.txId]);
  });

  it('refuses a gate check whose device signature is forged or whose fields changed after signing; nothing is recorded', async () => {
    const { worker, permitNo } = crews.valid;
    const code = await scanBadge(worker);
    const decision = decideAtGate(code, await snapshotOf(permitNo), await online(permitNo));
    const forged = await gateCheck(permitNo, code, decision, { signer: Wallet.createRandom() });
    expect(await gateway.refused('SIGNATURE_INVALID', 'credential:RecordSignedGateCheck', forged)).to.match(/not signed by the key registered for gate device/);
    const signed = await gateCheck(permitNo, code, { pass: false, code: 'NOT_QUALIFIED', reason: 'x', snapshotHeight: decision.snapshotHeight });
    await gateway.refused('SIGNATURE_INVALID', 'credential:RecordSignedGateCheck', { ...signed, check: { ...signed.check, decision: 'pass', offline: true } });
    // Only the device gateway relays gate checks: the officer's identity cannot, whatever it carries.
    await officer.refused('FORBIDDEN', 'credential:RecordSignedGateCheck', await gateCheck(permitNo, code, decision));
    expect(await officer.evaluate<GateCheckRecord[]>('credential:ListGateChecks', { permitNo })).to.have.length(1);
  });

  it('refuses an expired certificate online and offline, and the ledger refuses it too', async () => {
    const { worker, permitNo } = crews.expired;
    // A second welding certificate that ends in a minute, then the long one revoked: the current code carries only the short one.
    const expiringUntil = Date.now() + 60_000;
    await officer.submit('credential:AddCertificate', {
      ...certificateInput(`${permitNo}-short`, worker, 'welding_cutting', '熔化焊接与热切割作业'),
      validUntil: iso(expiringUntil),
      reviewDue: iso(expiringUntil - 1_000),
    });
    await officer.submit('credential:SetCertificateStatus', {
      certificateId: `${permitNo}-weld`,
      status: 'revoked',
      reason: 'Replaced by the short-term certificate',
    });
    const code = await scanBadge(worker);
    // The gate's clock a minute and a half on: the certificate in the code has expired.
    const later = expiringUntil + 30_000;
    const fresh = await snapshotOf(permitNo);
    const on = decideAtGate(code, fresh, { ...(await online(permitNo)), nowMs: later, maxSnapshotAgeMs: 10 * 60_000 });
    expect(on).to.include({ pass: false, code: 'NOT_QUALIFIED' });
    expect(on.reason).to.match(new RegExp(`${permitNo}-short expired`));
    // Offline on the snapshot from before the change: the code's epoch is newer, the certificate still expired.
    const off = decideAtGate(code, earlier.get(permitNo)!, offline(permitNo, later));
    expect(off).to.include({ pass: false, code: 'NOT_QUALIFIED' });
    const r = await gateway.submit<GateCheckRecord>('credential:RecordSignedGateCheck', await gateCheck(permitNo, code, on, { offline: false }));
    expect(r.value.passed).to.equal(false);
    expect(r.value.device).to.include({ gateDecision: 'NOT_QUALIFIED', ledgerDecision: 'NOT_QUALIFIED', disagreement: false });
  });

  it('refuses the wrong category for the permit type online and offline, and the ledger refuses it too', async () => {
    const { worker, permitNo } = crews.category;
    await officer.submit('credential:SetCertificateStatus', { certificateId: `${permitNo}-weld`, status: 'revoked', reason: 'Welding certificate withdrawn' });
    const code = await scanBadge(worker);
    const on = decideAtGate(code, await snapshotOf(permitNo), await online(permitNo));
    expect(on).to.include({ pass: false, code: 'NOT_QUALIFIED', reason: 'no welding_cutting certificate (holds electrician)' });
    expect(decideAtGate(code, earlier.get(permitNo)!, offline(permitNo))).to.include({ pass: false, code: 'NOT_QUALIFIED' });
    const r = await gateway.submit<GateCheckRecord>('credential:RecordSignedGateCheck', await gateCheck(permitNo, code, on));
    expect(r.value.device).to.include({ ledgerDecision: 'NOT_QUALIFIED', disagreement: false });
  });

  it('refuses an old code after a new certificate; an offline pass on the old snapshot is flagged as a disagreement', async () => {
    const { worker, permitNo } = crews.valid;
    const old = await scanBadge(worker);
    const stale = earlier.get(permitNo)!;
    // A new certificate: the office's next code carries it, and every code before it is superseded.
    await officer.submit('credential:AddCertificate', certificateInput(`${permitNo}-elec`, worker, 'electrician', '低压电工作业'));
    const fresh = await snapshotOf(permitNo);
    expect(fresh.revocationEpochs[worker]).to.be.above(stale.revocationEpochs[worker]!);
    expect(decideAtGate(old, fresh, await online(permitNo))).to.include({ pass: false, code: 'REVOKED' });
    // Offline, the gate cannot know yet: it passes, signs that it was offline, and the ledger flags it.
    const offlinePass = decideAtGate(old, stale, offline(permitNo));
    expect(offlinePass).to.include({ pass: true });
    const r = await gateway.submit<GateCheckRecord>('credential:RecordSignedGateCheck', await gateCheck(permitNo, old, offlinePass, { offline: true }));
    expect(r.value.passed).to.equal(false);
    expect(r.value.device).to.include({
      offline: true,
      gateDecision: 'pass',
      ledgerDecision: 'REVOKED',
      disagreement: true,
      snapshotHeight: stale.blockHeight,
    });
    // The re-issued code passes once the gate has synced again.
    const current = await scanBadge(worker);
    const d = decideAtGate(current, await snapshotOf(permitNo), await online(permitNo));
    expect(d).to.include({ pass: true });
    const ok = await gateway.submit<GateCheckRecord>('credential:RecordSignedGateCheck', await gateCheck(permitNo, current, d));
    expect(ok.value.device).to.include({ ledgerDecision: 'pass', disagreement: false });
  });
});
