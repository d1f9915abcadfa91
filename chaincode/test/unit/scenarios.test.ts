import type { LedgerEvent, PermitRecord } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { alarmFields, application, CONFIRMER, fresh, gasTest, gateAll, HOUR, iso, MIN, SENSOR_KEY, seed, signAlarm, W1, W2, who } from '../support/fixtures';
import { caller, T0, workerId } from '../support/harness';

const confirmAll = (permitNo: string) => ({
  permitNo,
  confirmations: [
    { measureId: 'm1', confirmedBy: CONFIRMER },
    { measureId: 'm2', confirmedBy: CONFIRMER },
  ],
});

describe('scenario: confined space with gas tests and a suspension by a device alarm', () => {
  it('runs to close, with the alarm suspending and a re-test before resuming', async () => {
    const h = fresh();
    await seed(h);
    const cs = (o: Record<string, unknown> = {}) =>
      gasTest('CS-1', { oxygenVolPct: 20.9, toxic: [{ substance: 'H2S', measured: 1, limit: 10, unit: 'mg/m3' }], ...o }, h.now);
    await h.ok(
      'permit',
      'Apply',
      who.applicant,
      application('CS-1', { operationType: 'confined_space', level: 'single', description: 'Inspect tank T-101 internals' }),
    );
    await h.ok('permit', 'AssessRisk', who.pic, confirmAll('CS-1'));
    const low = await h.ok<PermitRecord>('permit', 'RecordGasTest', who.analyst, cs({ oxygenVolPct: 19.4 }));
    expect(low.status).to.equal('risk_assessed');
    expect(low.gasTests[0]?.failures[0]).to.contain('19.5–21');
    const good = await h.ok<PermitRecord>('permit', 'RecordGasTest', who.analyst, cs());
    expect(good.status).to.equal('gas_tested');
    await h.ok('permit', 'SignOff', who.approverUnit, { permitNo: 'CS-1', stepId: 'approval', atSite: true });
    await h.ok('permit', 'Issue', who.approverUnit, { permitNo: 'CS-1' });
    await h.ok('permit', 'Brief', who.pic, { permitNo: 'CS-1', briefedWorkerIds: [W1, W2] });
    h.now = T0 + 50 * MIN;
    await gateAll(h, 'CS-1');
    await h.ok('permit', 'RecordGasTest', who.analyst, cs());
    h.now = T0 + HOUR;
    await h.ok('permit', 'Activate', who.pic, { permitNo: 'CS-1' });

    // H2S sensor alarm, grade I, signed by the sensor's key
    h.now = T0 + 2 * HOUR;
    const alarm = alarmFields({ alarmId: 'h2s-1', deviceId: 'gas-1', kind: 'h2s_high', grade: 1, clipCid: '', observedAt: h.now - 2000 });
    const rec = await h.ok('alarm', 'Record', who.gateway, { alarm, signature: await signAlarm(SENSOR_KEY, alarm) });
    expect(rec.suspendedPermitNos).to.deep.equal(['CS-1']);
    h.now += 20_000;
    expect((await h.ok('alarm', 'Acknowledge', who.safety1, { alarmId: 'h2s-1' })).responseMs).to.equal(20_000);
    h.now = T0 + 2 * HOUR + 30 * MIN;
    await h.ok('alarm', 'Close', who.safety1, { alarmId: 'h2s-1', note: 'Ventilation restored, source isolated' });

    // 61 min after the suspension: a re-test is required (confined space: 60 min)
    h.now = T0 + 3 * HOUR + MIN;
    await h.fails('RULE_VIOLATION', 'permit', 'Resume', who.pic, { permitNo: 'CS-1' });
    await h.ok('permit', 'RecordGasTest', who.analyst, cs({ oxygenVolPct: 23.6 }));
    await h.fails('RULE_VIOLATION', 'permit', 'Resume', who.pic, { permitNo: 'CS-1' });
    await h.ok('permit', 'RecordGasTest', who.analyst, cs({ oxygenVolPct: 21 }));
    await h.ok('permit', 'Resume', who.pic, { permitNo: 'CS-1' });
    await h.ok('permit', 'Complete', who.pic, { permitNo: 'CS-1', siteRestored: true });
    const closed = await h.ok<PermitRecord>('permit', 'Close', who.acceptor, { permitNo: 'CS-1', accepted: true });
    expect(closed.status).to.equal('closed');
    expect(closed.history.map((s) => `${s.action}:${s.to}`)).to.deep.equal([
      'apply:applied',
      'assess_risk:risk_assessed',
      'gas_test:risk_assessed',
      'gas_test:gas_tested',
      'sign_off:signed_off',
      'issue:issued',
      'brief:briefed',
      'gas_test:briefed',
      'activate:active',
      'suspend:suspended',
      'gas_test:suspended',
      'gas_test:suspended',
      'resume:active',
      'complete:completed',
      'close:closed',
    ]);
    // the indexer sees one typed event per transaction, in order
    const types = h.ledger.blocks.map((b) => (JSON.parse(b.events[0]?.payload as string) as LedgerEvent).type);
    expect(types.slice(-8)).to.deep.equal([
      'AlarmRecorded',
      'AlarmAcknowledged',
      'AlarmClosed',
      'GasTestRecorded',
      'GasTestRecorded',
      'PermitResumed',
      'PermitCompleted',
      'PermitClosed',
    ]);
  });
});

describe('scenario: excavation with seven named co-signs', () => {
  it('needs each department in order, distinct people, then the specialist approval', async () => {
    const h = fresh();
    await seed(h);
    await h.ok(
      'permit',
      'Apply',
      who.applicant,
      application('EX-1', { operationType: 'excavation', level: 'single', description: 'Trench 1.2 m for a drain line' }),
    );
    await h.ok('permit', 'AssessRisk', who.pic, confirmAll('EX-1'));
    const cosigner = (dept: string, n = 1) => caller('approver', { dept, workerId: workerId(`${dept}-${n}`) });
    await h.fails('FORBIDDEN', 'permit', 'SignOff', cosigner('power'), { permitNo: 'EX-1', stepId: 'cosign-water' });
    await h.fails('INVALID_STATE', 'permit', 'SignOff', cosigner('power'), { permitNo: 'EX-1', stepId: 'cosign-power' });
    await h.ok('permit', 'SignOff', cosigner('water'), { permitNo: 'EX-1', stepId: 'cosign-water' });
    // the water co-signer cannot also co-sign for power, even with a power certificate
    const sameHuman = caller('approver', { dept: 'power', workerId: workerId('water-1') });
    await h.fails('RULE_VIOLATION', 'permit', 'SignOff', sameHuman, { permitNo: 'EX-1', stepId: 'cosign-power' });
    for (const dept of ['power', 'steam', 'process', 'equipment', 'fire', 'safety']) {
      await h.ok('permit', 'SignOff', cosigner(dept), { permitNo: 'EX-1', stepId: `cosign-${dept}` });
    }
    await h.fails('FORBIDDEN', 'permit', 'SignOff', cosigner('unit-a'), { permitNo: 'EX-1', stepId: 'approval', atSite: true });
    const done = await h.ok<PermitRecord>('permit', 'SignOff', cosigner('specialist'), { permitNo: 'EX-1', stepId: 'approval', atSite: true });
    expect(done.status).to.equal('signed_off');
    expect(done.signOffs.map((s) => s.actor.department)).to.deep.equal(['water', 'power', 'steam', 'process', 'equipment', 'fire', 'safety', 'specialist']);
    const issued = await h.ok<PermitRecord>('permit', 'Issue', who.approverUnit, { permitNo: 'EX-1' });
    expect(issued.validUntil).to.equal(iso(T0 + 9 * HOUR));
  });
});
