/**
 * A confined-space permit with gas tests on the real network, suspended by an EIP-712 signed
 * alarm of a gas sensor (an ethers key registered as the device's address) in the same
 * transaction that records the alarm; resuming needs the alarm closed and a new gas test.
 */

import {
  ALARM_EIP712_DOMAIN,
  ALARM_EIP712_TYPES,
  type AlarmRecord,
  type ConnectionProfile,
  type LedgerPolicy,
  type PermitRecord,
  type SignedAlarmFields,
} from '@compliance-ledger/schema';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import { alarmFieldsFor } from '../../../schema/test/support/alarm-fields';
import {
  Cast,
  confinedSpaceApplication,
  eventsOf,
  freshWorkerIds,
  gasTestInput,
  guardianCertificate,
  heightOf,
  iso,
  type Party,
  passingGateCheck,
} from '../support/ledger';
import { requireNetwork, uniqueId } from '../support/network';

async function sign(wallet: Wallet, alarm: SignedAlarmFields): Promise<string> {
  return wallet.signTypedData({ ...ALARM_EIP712_DOMAIN }, { Alarm: ALARM_EIP712_TYPES.Alarm.map((f) => ({ ...f })) }, alarm);
}

describe('network: a confined-space permit suspended by a signed device alarm (real Fabric, CA users)', function () {
  this.timeout(300_000);
  let profile: ConnectionProfile;
  let cast: Cast;
  let officer: Party,
    admin: Party,
    applicant: Party,
    pic: Party,
    analyst: Party,
    approver: Party,
    safety: Party,
    gateway: Party,
    acceptor: Party,
    regulator: Party;
  const { W1, GUARDIAN, PIC, CONFIRMER, APPROVER, SAFETY, ACCEPTOR } = freshWorkerIds('W1', 'GUARDIAN', 'PIC', 'CONFIRMER', 'APPROVER', 'SAFETY', 'ACCEPTOR');
  const site = uniqueId('site');
  const zone = 'tank-t101';
  const workUnit = 'unit-storage';
  const permitNo = uniqueId('CS');
  const sensorKey = Wallet.createRandom();
  const sensorId = uniqueId('h2s');
  const gateId = uniqueId('gate');
  let policy: LedgerPolicy;

  before(function () {
    profile = requireNetwork(this);
    cast = new Cast(profile);
    const crew = cast.crew('cs', { workUnit, pic: PIC, approver: APPROVER, safety: SAFETY, acceptor: ACCEPTOR });
    ({ officer, admin, applicant, pic, analyst, approver, safety, gateway, acceptor, regulator } = crew);
  });
  after(() => cast?.close());

  const h2s = (measured: number) => [{ substance: 'H2S', measured, limit: 10, unit: 'mg/m3' }];
  const cs = (testId: string, o: Record<string, unknown> = {}) => gasTestInput(permitNo, { testId, flammableVolPct: 0.1, toxic: h2s(1), ...o });

  it('runs to active with gas tests judged by the chaincode (a low-oxygen sample fails and moves nothing)', async () => {
    for (const w of [W1, GUARDIAN, PIC, CONFIRMER]) await officer.submit('credential:RegisterWorker', { workerId: w });
    await officer.submit('credential:AddCertificate', guardianCertificate(uniqueId('cert-guardian'), GUARDIAN));
    await admin.submit('device:Register', { deviceId: gateId, siteId: site, areaId: zone, address: Wallet.createRandom().address, kind: 'gate' });
    await applicant.submit(
      'permit:Apply',
      confinedSpaceApplication(
        { permitNo, siteId: site, zoneId: zone, workUnit, worker: W1, personInCharge: PIC, guardian: GUARDIAN },
        {
          description: 'Inspect the internals of tank T-101',
          hazard: 'Oxygen deficiency and H2S',
          measure: 'Forced ventilation for 30 min before entry',
          hours: 6,
        },
      ),
    );
    await pic.submit('permit:AssessRisk', { permitNo, confirmations: [{ measureId: 'm1', confirmedBy: CONFIRMER }] });
    // Sign-off before a passing gas test is out of order.
    await approver.refused('INVALID_STATE', 'permit:SignOff', { permitNo, stepId: 'approval', atSite: true });
    const low = await analyst.submit<PermitRecord>('permit:RecordGasTest', cs('gt-low', { oxygenVolPct: 19.4 }));
    expect(low.value.status).to.equal('risk_assessed');
    expect(low.value.gasTests[0]).to.include({ passed: false });
    expect(low.value.gasTests[0]!.failures[0]).to.contain('19.5–21');
    const good = await analyst.submit<PermitRecord>('permit:RecordGasTest', cs('gt-1'));
    expect(good.value.status).to.equal('gas_tested');
    // The work unit's approver, at the site.
    await approver.refused('RULE_VIOLATION', 'permit:SignOff', { permitNo, stepId: 'approval', atSite: false });
    await approver.submit('permit:SignOff', { permitNo, stepId: 'approval', atSite: true });
    await approver.submit('permit:Issue', { permitNo });
    await pic.submit('permit:Brief', { permitNo, briefedWorkerIds: [W1] });
    await gateway.submit('credential:RecordGateCheck', {
      gateCheckId: uniqueId('gc'),
      permitNo,
      workerId: W1,
      qr: { passed: true },
      face: { scoreBp: 9100, deviceId: gateId },
      health: { passed: true },
    });
    // the guardian too: work does not start without them on site
    await pic.refused('RULE_VIOLATION', 'permit:Activate', { permitNo });
    await gateway.submit('credential:RecordGateCheck', passingGateCheck(uniqueId('gc'), permitNo, GUARDIAN, gateId));
    const active = await pic.submit<PermitRecord>('permit:Activate', { permitNo });
    expect(active.value.status).to.equal('active');
    const view = await regulator.evaluate<{ gasMonitoring: { continuousReadingDueAt: string | null } }>('permit:Get', { permitNo });
    expect(view.gasMonitoring.continuousReadingDueAt).to.be.a('string');
    // The 2-hourly continuous reading is not overdue yet: the work cannot be stopped for it.
    expect(await safety.refused('RULE_VIOLATION', 'permit:Suspend', { permitNo, reason: 'monitoring_overdue' })).to.contain('not overdue yet');
  });

  it('a gas sensor registered with an ethers key raises a signed alarm that suspends the permit in the same transaction', async () => {
    policy = await regulator.evaluate<LedgerPolicy>('template:GetPolicy', {});
    await safety.submit('device:Register', { deviceId: sensorId, siteId: site, areaId: zone, address: sensorKey.address, kind: 'sensor' });
    const grade = policy.alarmSuspendMaxGrade as SignedAlarmFields['grade'];
    const alarm = alarmFieldsFor(sensorId, site, zone, { grade, kind: 'h2s_high', scoreBp: 9650, observedAt: Date.now() - 1_500 });
    const signature = await sign(sensorKey, alarm);

    // A signature by another key, or over other fields, is refused and changes nothing.
    const before = await heightOf(regulator.conn, profile.channel);
    await gateway.refused('SIGNATURE_INVALID', 'alarm:Record', { alarm, signature: await sign(Wallet.createRandom(), alarm) });
    await gateway.refused('SIGNATURE_INVALID', 'alarm:Record', { alarm: { ...alarm, grade: 4 }, signature });
    await gateway.refused('NOT_FOUND', 'alarm:Record', { alarm: { ...alarm, deviceId: 'no-such-device' }, signature });
    // A time past 9999 signs as a uint64 but is no date the regulator's mirror can hold: refused before the signature is read.
    const late = await gateway.refused('VALIDATION_FAILED', 'alarm:Record', { alarm: { ...alarm, observedAt: 9e15 }, signature });
    expect(late).to.contain('alarm.observedAt: must be epoch milliseconds between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z');
    expect(await heightOf(regulator.conn, profile.channel)).to.equal(before);
    expect((await regulator.evaluate<PermitRecord>('permit:Get', { permitNo })).status).to.equal('active');

    const recorded = await gateway.submit<AlarmRecord>('alarm:Record', { alarm, signature });
    expect(recorded.value).to.include({ status: 'open', signer: sensorKey.address, deviceKind: 'sensor', txId: recorded.txId });
    expect(recorded.value.suspendedPermitNos).to.deep.equal([permitNo]);

    // The permit's suspension is in the alarm's own transaction.
    const ledger = await regulator.evaluate<{ versions: { txId: string; status: string }[] }>('permit:GetLedgerHistory', { permitNo });
    expect(ledger.versions[ledger.versions.length - 1]).to.deep.include({ txId: recorded.txId, status: 'suspended' });
    const p = await regulator.evaluate<PermitRecord>('permit:Get', { permitNo });
    expect(p.status).to.equal('suspended');
    expect(p.suspension).to.include({ reason: 'alarm', alarmId: alarm.alarmId });
    const events = await eventsOf(regulator.conn, profile, recorded.blockNumber, [recorded.txId]);
    const e = events.get(recorded.txId)!;
    expect(e.name).to.equal('AlarmRecorded');
    expect((e.body.payload as { suspendedPermits: PermitRecord[] }).suspendedPermits.map((x) => [x.permitNo, x.status])).to.deep.equal([
      [permitNo, 'suspended'],
    ]);

    // The same signed alarm again is a replay.
    await gateway.refused('REPLAY', 'alarm:Record', { alarm, signature });

    // Resuming: not while the alarm is open; after closing it, not without a new gas test.
    await pic.refused('INVALID_STATE', 'permit:Resume', { permitNo });
    const ack = await safety.submit<AlarmRecord>('alarm:Acknowledge', { alarmId: alarm.alarmId });
    expect(ack.value.responseMs).to.be.a('number').and.to.be.at.least(0);
    expect(ack.value.acknowledgedBy).to.include({ role: 'safety_officer', mspId: 'EnterpriseMSP' });
    await pic.refused('INVALID_STATE', 'permit:Resume', { permitNo });
    await safety.submit('alarm:Close', { alarmId: alarm.alarmId, note: 'H2S source isolated, ventilation doubled' });
    const noTest = await pic.refused('RULE_VIOLATION', 'permit:Resume', { permitNo });
    expect(noTest).to.contain('gas alarm');
    // A failing re-test does not help.
    await analyst.submit('permit:RecordGasTest', cs('gt-retest-bad', { toxic: h2s(12) }));
    await pic.refused('RULE_VIOLATION', 'permit:Resume', { permitNo });
    await analyst.submit('permit:RecordGasTest', cs('gt-retest', { sampleTakenAt: iso(Date.now() - 500) }));
    const resumed = await pic.submit<PermitRecord>('permit:Resume', { permitNo });
    expect(resumed.value.status).to.equal('active');
    expect(resumed.value.suspension).to.equal(null);
  });

  it('completes and closes; the history shows the alarm suspension by the device gateway', async () => {
    await pic.submit('permit:Complete', { permitNo, siteRestored: true });
    await acceptor.submit('permit:Close', { permitNo, accepted: true });
    // The submit returned once the enterprise's peer committed the block; the regulator's peer,
    // which this read goes to, may commit it a moment later.
    type History = { steps: { action: string; to: string; actor: { role: string } }[] };
    let h = await regulator.evaluate<History>('permit:GetHistory', { permitNo });
    for (let i = 0; i < 50 && h.steps.at(-1)?.action !== 'close'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      h = await regulator.evaluate<History>('permit:GetHistory', { permitNo });
    }
    expect(h.steps.map((s) => `${s.action}:${s.to}:${s.actor.role}`)).to.deep.equal([
      'apply:applied:applicant',
      'assess_risk:risk_assessed:person_in_charge',
      'gas_test:risk_assessed:gas_analyst',
      'gas_test:gas_tested:gas_analyst',
      'sign_off:signed_off:approver',
      'issue:issued:approver',
      'brief:briefed:person_in_charge',
      'activate:active:person_in_charge',
      'suspend:suspended:device_gateway',
      'gas_test:suspended:gas_analyst',
      'gas_test:suspended:gas_analyst',
      'resume:active:person_in_charge',
      'complete:completed:person_in_charge',
      'close:closed:acceptor',
    ]);
    expect(await regulator.evaluate('alarm:ListOpen', { siteId: site })).to.deep.equal([]);
  });
});
