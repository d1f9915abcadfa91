/**
 * A burst of signed alarms from one area on the real network. Each suspending alarm reads the
 * area's live permits (a range, re-checked at commit) and writes the permits it suspends, so two
 * alarms ordered into the same block conflict: Fabric commits the first and marks the other
 * MVCC_READ_CONFLICT (or PHANTOM_READ_CONFLICT), which records nothing. The sender resubmits;
 * the alarm id makes that safe (REPLAY if it had in fact committed).
 */

import { ALARM_EIP712_DOMAIN, ALARM_EIP712_TYPES, type ConnectionProfile, type PermitRecord, type SignedAlarmFields } from '@compliance-ledger/schema';
import { peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import { alarmFieldsFor } from '../../../schema/test/support/alarm-fields';
import { Cast, freshWorkerIds, guardianCertificate, issuedConfinedSpace, type Party, passingGateCheck } from '../support/ledger';
import { requireNetwork, uniqueId } from '../support/network';

describe('network: a burst of alarms from one area (real Fabric)', function () {
  this.timeout(300_000);
  let profile: ConnectionProfile;
  let cast: Cast;
  let officer: Party, admin: Party, applicant: Party, pic: Party, analyst: Party, approver: Party, gateway: Party, regulator: Party;
  const { W1, GUARDIAN, PIC } = freshWorkerIds('W1', 'GUARDIAN', 'PIC');
  const site = uniqueId('site');
  const zone = 'reactor-4';
  const workUnit = 'unit-burst';
  const camKey = Wallet.createRandom();
  const camId = uniqueId('cam');
  const gateId = uniqueId('gate');

  before(function () {
    profile = requireNetwork(this);
    cast = new Cast(profile);
    ({ officer, admin, applicant, pic, analyst, approver, gateway, regulator } = cast.crew('ab', { workUnit, pic: PIC }));
  });
  after(() => cast?.close());

  async function activePermit(permitNo: string): Promise<void> {
    await issuedConfinedSpace(
      { applicant, pic, analyst, approver },
      { permitNo, siteId: site, zoneId: zone, workUnit, worker: W1, personInCharge: PIC, guardian: GUARDIAN },
      { description: 'Inspect the reactor jacket', hazard: 'Residual solvent', measure: 'Purge with nitrogen, then air' },
    );
    await pic.submit('permit:Brief', { permitNo, briefedWorkerIds: [W1] });
    for (const person of [W1, GUARDIAN]) await gateway.submit('credential:RecordGateCheck', passingGateCheck(uniqueId('gc'), permitNo, person, gateId));
    await pic.submit('permit:Activate', { permitNo });
  }

  async function signed(grade: 1 | 2 | 3 | 4): Promise<{ alarm: SignedAlarmFields; signature: string }> {
    const alarm = alarmFieldsFor(camId, site, zone, { grade, kind: 'no_harness', scoreBp: 8800, modelVersion: 'yolo-ppe-3.2' });
    const signature = await camKey.signTypedData({ ...ALARM_EIP712_DOMAIN }, { Alarm: ALARM_EIP712_TYPES.Alarm.map((f) => ({ ...f })) }, alarm);
    return { alarm, signature };
  }

  it('concurrent suspending alarms: one commits, the others conflict and record nothing; resubmitted, every alarm is recorded once', async () => {
    for (const w of [W1, GUARDIAN, PIC]) await officer.submit('credential:RegisterWorker', { workerId: w });
    await officer.submit('credential:AddCertificate', guardianCertificate(uniqueId('cert-guardian'), GUARDIAN));
    await admin.submit('device:Register', { deviceId: camId, siteId: site, areaId: zone, address: camKey.address, kind: 'camera' });
    await admin.submit('device:Register', { deviceId: gateId, siteId: site, areaId: zone, address: Wallet.createRandom().address, kind: 'gate' });
    const permitNo = uniqueId('CS-B');
    await activePermit(permitNo);

    const burst = await Promise.all([1, 1, 2, 2].map((g) => signed(g as 1 | 2)));
    const contract = gateway.contract('alarm');
    // Endorse all first, then submit together, so that they land in the same block.
    const endorsed = await Promise.all(burst.map((b) => contract.newProposal('Record', { arguments: [JSON.stringify(b)] }).endorse()));
    const statuses = await Promise.all(endorsed.map(async (t) => (await t.submit()).getStatus()));
    const valid = statuses.filter((s) => s.successful);
    const conflicts = statuses.filter((s) => !s.successful);
    expect(valid).to.have.length(1);
    for (const s of conflicts) expect([peer.TxValidationCode.MVCC_READ_CONFLICT, peer.TxValidationCode.PHANTOM_READ_CONFLICT]).to.include(s.code);

    const p = await regulator.evaluate<PermitRecord>('permit:Get', { permitNo });
    expect(p.status).to.equal('suspended');
    expect(p.history.filter((h) => h.action === 'suspend')).to.have.length(1);

    // The sender resubmits every alarm: the committed one is a REPLAY, the others are recorded
    // (the permit is already suspended, so they suspend nothing more).
    let replays = 0;
    for (const b of burst) {
      try {
        const r = await gateway.submit<{ suspendedPermitNos: string[] }>('alarm:Record', b);
        expect(r.value.suspendedPermitNos).to.deep.equal([]);
      } catch (err) {
        expect(String(err)).to.match(/REPLAY: /);
        replays++;
      }
    }
    expect(replays).to.equal(1);
    const open = await regulator.evaluate<{ alarmId: string }[]>('alarm:ListOpen', { siteId: site, areaId: zone });
    expect(open.map((a) => a.alarmId).sort()).to.deep.equal(burst.map((b) => b.alarm.alarmId).sort());
  });
});
