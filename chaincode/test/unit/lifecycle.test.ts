import { type PermitRecord, type PermitTransitionPayload, permitStateKey } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { application, CONFIRMER, fresh, GUARDIAN, gasTest, gateAll, HOUR, iso, MIN, SITE, seed, toActive, toSignedOff, W1, W2, who } from '../support/fixtures';
import { T0 } from '../support/harness';

describe('permit lifecycle (hot work level 2)', () => {
  it('answers each step with the key it wrote, and emits the transition with a summary rather than a copy of the permit', async () => {
    const h = fresh();
    await seed(h);
    const r = await h.submit('permit', 'Apply', who.applicant, application('HW-A'));
    expect(r.ok, r.error?.message).to.equal(true);
    expect(JSON.parse(r.rawResult!)).to.deep.equal({ permitNo: 'HW-A', status: 'applied', written: permitStateKey('HW-A') });
    const stored = h.ledger.state.get(permitStateKey('HW-A'))!.toString('utf8');
    expect(r.result).to.equal(stored);
    const event = JSON.parse(r.events[0]!.payload) as { schemaVersion: number; payload: PermitTransitionPayload };
    expect(event.schemaVersion).to.equal(2);
    expect(event.payload).to.deep.equal({
      permitNo: 'HW-A',
      action: 'apply',
      from: null,
      to: 'applied',
      summary: { enterpriseMsp: 'EnterpriseMSP', siteId: SITE, operationType: 'hot_work', level: JSON.parse(stored).level, suspensionReason: null },
    });
    await toActive(h, 'HW-B');
    const suspended = await h.submit('permit', 'Suspend', who.pic, { permitNo: 'HW-B', reason: 'violation' });
    expect(JSON.parse(suspended.rawResult!)).to.deep.equal({ permitNo: 'HW-B', status: 'suspended', written: permitStateKey('HW-B') });
    expect(JSON.parse(suspended.result!).suspension.reason).to.equal('violation');
    const payload = (JSON.parse(suspended.events[0]!.payload) as { payload: PermitTransitionPayload }).payload;
    expect([payload.from, payload.to, payload.summary?.suspensionReason, payload.permit]).to.deep.equal(['active', 'suspended', 'violation', undefined]);
  });

  it('runs from application to close, one event per step, recording who and when', async () => {
    const h = fresh();
    await seed(h);
    const applied = await h.ok<PermitRecord>('permit', 'Apply', who.applicant, application('HW-1'));
    expect(applied.status).to.equal('applied');
    expect(applied.templateVersion).to.equal(1);
    expect(h.lastEvent().type).to.equal('PermitApplied');

    await h.ok('permit', 'AssessRisk', who.pic, {
      permitNo: 'HW-1',
      confirmations: [
        { measureId: 'm1', confirmedBy: CONFIRMER },
        { measureId: 'm2', confirmedBy: CONFIRMER },
      ],
    });
    const tested = await h.ok<PermitRecord>('permit', 'RecordGasTest', who.analyst, gasTest('HW-1', {}, T0));
    expect(tested.status).to.equal('gas_tested');
    const signed = await h.ok<PermitRecord>('permit', 'SignOff', who.approverUnit, { permitNo: 'HW-1', stepId: 'approval', atSite: true });
    expect(signed.status).to.equal('signed_off');
    const issued = await h.ok<PermitRecord>('permit', 'Issue', who.approverUnit, { permitNo: 'HW-1' });
    expect(issued.status).to.equal('issued');
    expect(issued.validFrom).to.equal(iso(T0));
    expect(issued.validUntil).to.equal(iso(T0 + 9 * HOUR));
    await h.ok('permit', 'Brief', who.pic, { permitNo: 'HW-1', briefedWorkerIds: [W2, W1] });
    h.now = T0 + 50 * MIN;
    await gateAll(h, 'HW-1');
    await h.ok('permit', 'RecordGasTest', who.analyst, gasTest('HW-1', {}, h.now));
    h.now = T0 + HOUR;
    const active = await h.ok<PermitRecord>('permit', 'Activate', who.pic, { permitNo: 'HW-1' });
    expect(active.status).to.equal('active');
    const done = await h.ok<PermitRecord>('permit', 'Complete', who.pic, { permitNo: 'HW-1', siteRestored: true });
    expect(done.status).to.equal('completed');
    const closed = await h.ok<PermitRecord>('permit', 'Close', who.acceptor, { permitNo: 'HW-1', accepted: true });
    expect(closed.status).to.equal('closed');
    expect(h.lastEvent().type).to.equal('PermitClosed');

    const history = await h.read('permit', 'GetHistory', who.regulator, { permitNo: 'HW-1' });
    expect(history.steps.map((s: { action: string }) => s.action)).to.deep.equal([
      'apply',
      'assess_risk',
      'gas_test',
      'sign_off',
      'issue',
      'brief',
      'gas_test',
      'activate',
      'complete',
      'close',
    ]);
    const first = history.steps[0];
    expect(first.actor.role).to.equal('applicant');
    expect(first.actor.mspId).to.equal('EnterpriseMSP');
    expect(first.actor.certificateId).to.equal(who.applicant.id);
    expect(first.at).to.equal(iso(T0));
    expect(first.txId).to.match(/^tx\d+$/);
    expect(history.steps[history.steps.length - 1].at).to.equal(iso(T0 + HOUR));

    // the ledger's own history of the permit key agrees with the record's steps, transaction by transaction
    const ledger = await h.read('permit', 'GetLedgerHistory', who.auditor, { permitNo: 'HW-1' });
    expect(ledger.versions.map((v: { action: string }) => v.action)).to.deep.equal(history.steps.map((s: { action: string }) => s.action));
    expect(ledger.versions.map((v: { txId: string }) => v.txId)).to.deep.equal(history.steps.map((s: { txId: string }) => s.txId));
    expect(ledger.versions[ledger.versions.length - 1].status).to.equal('closed');
  });

  it('refuses to skip steps: issue before sign-off, activate before brief, close before complete', async () => {
    const h = fresh();
    await seed(h);
    await h.ok('permit', 'Apply', who.applicant, application('HW-2'));
    await h.fails('INVALID_STATE', 'permit', 'Issue', who.approverUnit, { permitNo: 'HW-2' });
    await h.fails('INVALID_STATE', 'permit', 'SignOff', who.approverUnit, { permitNo: 'HW-2', stepId: 'approval', atSite: true });
    await h.fails('INVALID_STATE', 'permit', 'Activate', who.pic, { permitNo: 'HW-2' });
    await h.fails('INVALID_STATE', 'permit', 'Close', who.acceptor, { permitNo: 'HW-2', accepted: true });
    await h.fails('INVALID_STATE', 'permit', 'Brief', who.pic, { permitNo: 'HW-2', briefedWorkerIds: [W1, W2] });
  });

  it('requires the gas test before sign-off when the template requires one', async () => {
    const h = fresh();
    await seed(h);
    await h.ok('permit', 'Apply', who.applicant, application('HW-3'));
    await h.ok('permit', 'AssessRisk', who.pic, {
      permitNo: 'HW-3',
      confirmations: [
        { measureId: 'm1', confirmedBy: CONFIRMER },
        { measureId: 'm2', confirmedBy: CONFIRMER },
      ],
    });
    const m = await h.fails('INVALID_STATE', 'permit', 'SignOff', who.approverUnit, { permitNo: 'HW-3', stepId: 'approval', atSite: true });
    expect(m).to.contain('gas test');
    // a failing test is recorded but does not advance the permit
    const failed = await h.ok<PermitRecord>('permit', 'RecordGasTest', who.analyst, gasTest('HW-3', { flammableVolPct: 0.6 }, T0));
    expect(failed.status).to.equal('risk_assessed');
    expect(failed.gasTests[0]?.passed).to.equal(false);
    await h.fails('INVALID_STATE', 'permit', 'SignOff', who.approverUnit, { permitNo: 'HW-3', stepId: 'approval', atSite: true });
  });

  it('refuses to repeat steps', async () => {
    const h = fresh();
    await seed(h);
    await toSignedOff(h, 'HW-4');
    await h.fails('INVALID_STATE', 'permit', 'AssessRisk', who.pic, {
      permitNo: 'HW-4',
      confirmations: [
        { measureId: 'm1', confirmedBy: CONFIRMER },
        { measureId: 'm2', confirmedBy: CONFIRMER },
      ],
    });
    await h.fails('INVALID_STATE', 'permit', 'SignOff', who.approverSafety, { permitNo: 'HW-4', stepId: 'approval', atSite: true });
    await h.ok('permit', 'Issue', who.approverUnit, { permitNo: 'HW-4' });
    await h.fails('INVALID_STATE', 'permit', 'Issue', who.approverUnit, { permitNo: 'HW-4' });
  });

  it('suspends and resumes; completed permits cannot be suspended; closed never change', async () => {
    const h = fresh();
    await seed(h);
    await toActive(h, 'HW-5');
    const s = await h.ok<PermitRecord>('permit', 'Suspend', who.guardian, { permitNo: 'HW-5', reason: 'guardian_left' });
    expect(s.status).to.equal('suspended');
    await h.fails('INVALID_STATE', 'permit', 'Suspend', who.guardian, { permitNo: 'HW-5', reason: 'guardian_left' });
    await h.fails('INVALID_STATE', 'permit', 'Complete', who.pic, { permitNo: 'HW-5', siteRestored: true });
    h.advance(10 * MIN);
    // the guardian left: work resumes only once they are back through the gate
    expect(await h.fails('RULE_VIOLATION', 'permit', 'Resume', who.pic, { permitNo: 'HW-5' })).to.contain('guardian must pass a gate check again');
    await gateAll(h, 'HW-5', [GUARDIAN]);
    const r = await h.ok<PermitRecord>('permit', 'Resume', who.pic, { permitNo: 'HW-5' });
    expect(r.status).to.equal('active');
    expect(r.suspension).to.equal(null);
    await h.ok('permit', 'Complete', who.pic, { permitNo: 'HW-5', siteRestored: true });
    await h.fails('INVALID_STATE', 'permit', 'Suspend', who.pic, { permitNo: 'HW-5', reason: 'interruption' });
    await h.ok('permit', 'Close', who.acceptor, { permitNo: 'HW-5', accepted: true });
    const m = await h.fails('INVALID_STATE', 'permit', 'Revoke', who.safety1, { permitNo: 'HW-5', reason: 'late' });
    expect(m).to.contain('never change again');
  });

  it('rejects, cancels and revokes only from the allowed states, and never revives', async () => {
    const h = fresh();
    await seed(h);
    await h.ok('permit', 'Apply', who.applicant, application('HW-6'));
    const rej = await h.ok<PermitRecord>('permit', 'Reject', who.approverUnit, { permitNo: 'HW-6', reason: 'Incomplete hazard list' });
    expect(rej.status).to.equal('rejected');
    await h.fails('INVALID_STATE', 'permit', 'AssessRisk', who.pic, { permitNo: 'HW-6', confirmations: [{ measureId: 'm1', confirmedBy: CONFIRMER }] });

    await h.ok('permit', 'Apply', who.applicant, application('HW-7'));
    await h.fails('INVALID_STATE', 'permit', 'Revoke', who.safety1, { permitNo: 'HW-7', reason: 'x' });
    const can = await h.ok<PermitRecord>('permit', 'Cancel', who.applicant, { permitNo: 'HW-7', reason: 'Job postponed' });
    expect(can.status).to.equal('cancelled');

    await toActive(h, 'HW-8');
    await h.fails('INVALID_STATE', 'permit', 'Cancel', who.applicant, { permitNo: 'HW-8', reason: 'x' });
    await h.fails('INVALID_STATE', 'permit', 'Reject', who.approverUnit, { permitNo: 'HW-8', reason: 'x' });
    const rev = await h.ok<PermitRecord>('permit', 'Revoke', who.safety1, { permitNo: 'HW-8', reason: 'Violation observed' });
    expect(rev.status).to.equal('revoked');
    await h.fails('INVALID_STATE', 'permit', 'Resume', who.pic, { permitNo: 'HW-8' });
    const live = await h.read('permit', 'ListLive', who.regulator, { siteId: 'site-1' });
    expect(live.map((p: PermitRecord) => p.permitNo)).to.not.include('HW-8');
  });
});
