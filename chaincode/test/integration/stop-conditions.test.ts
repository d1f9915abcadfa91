/**
 * GB 30871's measures and stop conditions on the real network: the height and the load decide
 * the level (no lifting permit under 10 t); a signed wind alarm from an anemometer suspends the
 * outdoor work at height in its area but not the indoor work, in the alarm's own transaction;
 * and a permit stopped because the guardian left resumes only after the guardian's gate check.
 * Completing a permit restarts its workers' off-the-job clock; a practical exam is recorded. (Six
 * months off the job itself needs the clock to move, so its boundaries are in the unit tests.)
 * With the site's work calendar in the policy, the ledger raises hot work on a holiday itself.
 */

import {
  ALARM_EIP712_DOMAIN,
  ALARM_EIP712_TYPES,
  type AlarmRecord,
  type CertificateRecord,
  type ConnectionProfile,
  type LedgerPolicy,
  type PermitRecord,
  type WorkerRecord,
} from '@compliance-ledger/schema';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import { alarmFieldsFor } from '../../../schema/test/support/alarm-fields';
import {
  Cast,
  certificateInput,
  freshWorkerIds,
  guardianCertificate,
  HOUR,
  heightOf,
  iso,
  type Party,
  passingGateCheck,
  permitApplication,
} from '../support/ledger';
import { requireNetwork, uniqueId } from '../support/network';

describe('network: GB 30871 measures and stop conditions, wind and the guardian (real Fabric, CA users)', function () {
  this.timeout(300_000);
  let profile: ConnectionProfile;
  let cast: Cast;
  let officer: Party, admin: Party, applicant: Party, pic: Party, approver: Party, safety: Party, gateway: Party, regulator: Party;
  const { W1, GUARDIAN, PIC, CONFIRMER, APPROVER } = freshWorkerIds('W1', 'GUARDIAN', 'PIC', 'CONFIRMER', 'APPROVER');
  const site = uniqueId('site');
  const zone = 'rack-3';
  const workUnit = 'unit-maintenance';
  const gateId = uniqueId('gate');
  const anemometerKey = Wallet.createRandom();
  const anemometerId = uniqueId('wind');
  const outdoor = uniqueId('WH-OUT');
  const heightCert = uniqueId('cert-height');
  const indoor = uniqueId('WH-IN');

  const atHeight = { operationType: 'work_at_height', level: 'I', description: 'Replace insulation on the pipe rack', hours: 4, startedMsAgo: 60_000 };
  const height = (permitNo: string, o: Record<string, unknown> = {}) =>
    permitApplication(
      { permitNo, siteId: site, zoneId: zone, workUnit, worker: W1, personInCharge: PIC, guardian: GUARDIAN },
      { ...atHeight, hazard: 'Fall from height', measure: 'Full-body harness on a fixed anchor' },
      { workHeightMetres: 4.5, ...o },
    );

  before(function () {
    profile = requireNetwork(this);
    cast = new Cast(profile);
    ({ officer, admin, applicant, pic, approver, gateway, regulator } = cast.crew('sc', { workUnit, pic: PIC, approver: APPROVER }));
    // A safety officer without a worker id.
    safety = cast.person('sc-safety', 'enterprise', 'safety_officer', { department: 'safety' });
  });
  after(() => cast?.close());

  it('the height and the load must match the level; no lifting permit under 10 t; outdoor must be declared', async () => {
    for (const w of [W1, GUARDIAN, PIC, CONFIRMER]) await officer.submit('credential:RegisterWorker', { workerId: w });
    await officer.submit('credential:AddCertificate', certificateInput(heightCert, W1, 'work_at_height', '登高架设作业'));
    await officer.submit('credential:AddCertificate', certificateInput(uniqueId('cert-weld'), W1, 'welding_cutting', '熔化焊接与热切割作业'));
    await officer.submit('credential:AddCertificate', guardianCertificate(uniqueId('cert-guardian'), GUARDIAN));
    await admin.submit('device:Register', { deviceId: gateId, siteId: site, areaId: zone, address: Wallet.createRandom().address, kind: 'gate' });
    await safety.submit('device:Register', { deviceId: anemometerId, siteId: site, areaId: zone, address: anemometerKey.address, kind: 'sensor' });

    const before = await heightOf(regulator.conn, profile.channel);
    expect(
      await applicant.refused(
        'VALIDATION_FAILED',
        'permit:Apply',
        height(uniqueId('L'), { operationType: 'lifting', level: '3', workHeightMetres: null, liftLoadTonnes: 9.5 }),
      ),
    ).to.contain('under 10 t needs no lifting permit');
    expect(await applicant.refused('VALIDATION_FAILED', 'permit:Apply', height(uniqueId('H'), { workHeightMetres: 6 }))).to.contain('6 m is class II, not I');
    const hot = height(uniqueId('HW'), { operationType: 'hot_work', level: '2', workHeightMetres: null });
    expect(
      await applicant.refused('VALIDATION_FAILED', 'permit:Apply', { ...hot, location: { siteId: site, zoneId: zone, fireExplosionZone: false } }),
    ).to.contain('location.outdoor');
    expect(await heightOf(regulator.conn, profile.channel)).to.equal(before);
  });

  it('outdoor and indoor work at height run; a signed force-5 wind alarm suspends only the outdoor one, in its own transaction', async () => {
    for (const [permitNo, isOutdoor, x] of [
      [outdoor, true, 0],
      [indoor, false, 40],
    ] as const) {
      const applied = await applicant.submit<PermitRecord>(
        'permit:Apply',
        height(permitNo, { location: { siteId: site, zoneId: zone, coordinates: { x, y: 0 }, fireExplosionZone: false, outdoor: isOutdoor } }),
      );
      expect([applied.value.level, applied.value.workHeightMetres, applied.value.location.outdoor]).to.deep.equal(['I', 4.5, isOutdoor]);
      await pic.submit('permit:AssessRisk', { permitNo, confirmations: [{ measureId: 'm1', confirmedBy: CONFIRMER }] });
      await approver.submit('permit:SignOff', { permitNo, stepId: 'approval', atSite: true });
      await approver.submit('permit:Issue', { permitNo });
      await pic.submit('permit:Brief', { permitNo, briefedWorkerIds: [W1] });
      await gateway.submit('credential:RecordGateCheck', passingGateCheck(uniqueId('gc'), permitNo, W1, gateId));
      // without the guardian at the gate, work does not start
      expect(await pic.refused('RULE_VIOLATION', 'permit:Activate', { permitNo })).to.contain('the guardian has not passed a gate check');
      await gateway.submit('credential:RecordGateCheck', passingGateCheck(uniqueId('gc'), permitNo, GUARDIAN, gateId));
      expect((await pic.submit<PermitRecord>('permit:Activate', { permitNo })).value.status).to.equal('active');
    }

    const wind = { grade: 3, kind: 'wind_at_or_above_force_5', scoreBp: 10000, modelVersion: 'rule' } as const;
    const alarm = alarmFieldsFor(anemometerId, site, zone, { ...wind, observedAt: Date.now() - 1_000 });
    const signature = await anemometerKey.signTypedData({ ...ALARM_EIP712_DOMAIN }, { Alarm: ALARM_EIP712_TYPES.Alarm.map((f) => ({ ...f })) }, alarm);
    const recorded = await gateway.submit<AlarmRecord>('alarm:Record', { alarm, signature });
    expect(recorded.value.suspendedPermitNos).to.deep.equal([outdoor]);
    const out = await regulator.evaluate<PermitRecord>('permit:Get', { permitNo: outdoor });
    expect(out.status).to.equal('suspended');
    expect(out.suspension).to.include({ reason: 'weather', alarmId: alarm.alarmId });
    const ledger = await regulator.evaluate<{ versions: { txId: string; status: string }[] }>('permit:GetLedgerHistory', { permitNo: outdoor });
    expect(ledger.versions[ledger.versions.length - 1]).to.deep.include({ txId: recorded.txId, status: 'suspended' });
    expect((await regulator.evaluate<PermitRecord>('permit:Get', { permitNo: indoor })).status).to.equal('active');

    // Not while the wind alarm is open; once closed, the weather stop needs no gas re-test.
    await pic.refused('INVALID_STATE', 'permit:Resume', { permitNo: outdoor });
    await safety.submit('alarm:Acknowledge', { alarmId: alarm.alarmId });
    await safety.submit('alarm:Close', { alarmId: alarm.alarmId, note: 'Wind below force 5 for 15 min' });
    expect((await pic.submit<PermitRecord>('permit:Resume', { permitNo: outdoor })).value.status).to.equal('active');
  });

  it('work stopped because the guardian left resumes only after the guardian is back through the gate', async () => {
    expect(
      (await pic.submit<PermitRecord>('permit:Suspend', { permitNo: indoor, reason: 'guardian_left', note: 'Guardian called away' })).value.status,
    ).to.equal('suspended');
    expect(await pic.refused('RULE_VIOLATION', 'permit:Resume', { permitNo: indoor })).to.contain('guardian must pass a gate check again');
    await gateway.submit('credential:RecordGateCheck', passingGateCheck(uniqueId('gc'), indoor, GUARDIAN, gateId));
    expect((await pic.submit<PermitRecord>('permit:Resume', { permitNo: indoor })).value.status).to.equal('active');
  });

  it("completing a permit restarts its workers' off-the-job clock; a practical exam passed again is recorded on the certificate", async () => {
    expect((await pic.submit<PermitRecord>('permit:Complete', { permitNo: outdoor, siteRestored: true })).value.status).to.equal('completed');
    const w = await officer.evaluate<WorkerRecord>('credential:GetWorker', { workerId: W1 });
    expect(Date.now() - Date.parse(w.lastWorkedAt!)).to.be.within(0, 60_000);
    const examinedAt = iso(Date.now() - 24 * HOUR);
    await pic.refused('FORBIDDEN', 'credential:RecordPracticalExam', { certificateId: heightCert, examinedAt });
    await officer.refused('VALIDATION_FAILED', 'credential:RecordPracticalExam', { certificateId: heightCert, examinedAt: iso(Date.now() + HOUR) });
    const exam = await officer.submit<CertificateRecord>('credential:RecordPracticalExam', { certificateId: heightCert, examinedAt });
    expect(exam.value.practicalExams.map((e) => e.examinedAt)).to.deep.equal([examinedAt]);
  });

  it('with the site calendar in the policy, hot work on a holiday is raised a level by the ledger, whatever the applicant declares', async () => {
    // Only a holiday far ahead, no night hours, no rest days: other suites sharing the channel are unaffected.
    const policy = await regulator.evaluate<LedgerPolicy>('template:GetPolicy', {});
    const { version: _v, publishedAt: _a, publishedBy: _b, ...rest } = policy;
    const holiday = '2027-02-17';
    const calendar = {
      utcOffsetMinutes: 480,
      nightStartMinute: 0,
      nightEndMinute: 0,
      restDays: [],
      holidays: [...(policy.workCalendar?.holidays ?? []), holiday],
      workdays: [],
    };
    const published = await regulator.submit<LedgerPolicy>('template:PublishPolicy', { ...rest, workCalendar: calendar });
    expect(published.value.version).to.equal(policy.version + 1);
    const start = Date.parse(`${holiday}T09:00:00+08:00`);
    const hot = {
      ...height(uniqueId('HW-HOL'), { operationType: 'hot_work', level: '2', workHeightMetres: null }),
      plannedStart: iso(start),
      plannedEnd: iso(start + 4 * HOUR),
    };
    const applied = await applicant.submit<PermitRecord>('permit:Apply', hot);
    expect([applied.value.requestedLevel, applied.value.level, applied.value.nightOrHoliday]).to.deep.equal(['2', '1', true]);
    expect(applied.value.nightOrHolidayFromCalendar).to.equal(`${holiday} is a holiday in the site's work calendar`);
  });
});
