/**
 * What the clock makes due (issue 14): temporary electricity's special case of up to 30 days with
 * a recorded reason, the sweeper identity's narrow rights, and ListDue, the sweeper's one read.
 */

import type { PermitRecord } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { application, CONFIRMER, certificate, DAY, fresh, HOUR, iso, MIN, SITE, seed, toActive, toSignedOff, W1, W2, who } from '../support/fixtures';
import { caller, T0, workerId } from '../support/harness';

const sweeper = caller('sweeper', { id: 'reporter-sweeper' });
const regulatorSweeper = caller('sweeper', { msp: 'RegulatorMSP', id: 'reg-sweeper' });
const electricity = (permitNo: string, days: number, specialCaseReason: string | null) =>
  application(permitNo, {
    operationType: 'temporary_electricity',
    level: 'single',
    workers: [W1],
    plannedStart: iso(T0 + HOUR),
    plannedEnd: iso(T0 + HOUR + days * DAY),
    location: { siteId: SITE, zoneId: 'zone-c', coordinates: null, fireExplosionZone: false, outdoor: true },
    specialCaseReason,
  });

describe('temporary electricity: 15 days, 30 in a special case with a recorded reason', () => {
  it('16 days is refused without a reason and accepted with one; 30 days + 1 s is refused either way', async () => {
    const h = fresh();
    await seed(h);
    await h.ok(
      'credential',
      'AddCertificate',
      who.officer,
      certificate('cert-e', W1, 'electrician', { validUntil: iso(T0 + 400 * DAY), reviewDue: iso(T0 + 300 * DAY) }),
    );
    const refused = await h.fails('RULE_VIOLATION', 'permit', 'Apply', who.applicant, electricity('TE-16', 16, null));
    expect(refused).to.contain('allow at most 15 d').and.to.contain('specialCaseReason');
    const p = await h.ok<PermitRecord>('permit', 'Apply', who.applicant, electricity('TE-16', 16, 'Plant turnaround: supply for the whole overhaul'));
    expect(p.specialCaseReason).to.equal('Plant turnaround: supply for the whole overhaul');
    await h.ok('permit', 'Apply', who.applicant, electricity('TE-30', 30, 'Turnaround'));
    const tooLong = { ...electricity('TE-31', 30, 'Turnaround'), plannedEnd: iso(T0 + HOUR + 30 * DAY + 1000) };
    expect(await h.fails('RULE_VIOLATION', 'permit', 'Apply', who.applicant, tooLong)).to.contain('allow at most 30 d');
  });
  it('the special-case maximum bounds the validity at issue, and other operations have no special case', async () => {
    const h = fresh();
    await seed(h);
    await h.ok(
      'credential',
      'AddCertificate',
      who.officer,
      certificate('cert-e', W1, 'electrician', { validUntil: iso(T0 + 400 * DAY), reviewDue: iso(T0 + 300 * DAY) }),
    );
    await h.ok('permit', 'Apply', who.applicant, electricity('TE-20', 20, 'Turnaround'));
    await h.ok('permit', 'AssessRisk', who.pic, {
      permitNo: 'TE-20',
      confirmations: [
        { measureId: 'm1', confirmedBy: CONFIRMER },
        { measureId: 'm2', confirmedBy: CONFIRMER },
      ],
    });
    await h.ok('permit', 'SignOff', caller('approver', { dept: 'power_supply', workerId: workerId('power') }), {
      permitNo: 'TE-20',
      stepId: 'approval',
      atSite: true,
    });
    const issued = await h.ok<PermitRecord>('permit', 'Issue', who.approverUnit, { permitNo: 'TE-20' });
    expect(issued.validUntil).to.equal(iso(T0 + HOUR + 20 * DAY));
    const m = await h.fails('RULE_VIOLATION', 'permit', 'Apply', who.applicant, application('HW-S', { specialCaseReason: 'Because' }));
    expect(m).to.contain('has no special case');
  });
});

describe('the sweeper identity', () => {
  it('records an ended validity with Expire, from either org; a second Expire is INVALID_STATE', async () => {
    const h = fresh();
    await seed(h);
    await toSignedOff(h, 'SW-1', { workers: [W2] });
    await h.ok('permit', 'Issue', who.approverUnit, { permitNo: 'SW-1' });
    expect(await h.fails('INVALID_STATE', 'permit', 'Expire', sweeper, { permitNo: 'SW-1' })).to.contain('has not expired');
    h.now = T0 + 10 * DAY;
    const due = await h.read<{ expired: { permitNo: string; status: string }[] }>('permit', 'ListDue', sweeper, {});
    expect(due.expired.map((e) => [e.permitNo, e.status])).to.deep.equal([['SW-1', 'issued']]);
    const p = await h.ok<PermitRecord>('permit', 'Expire', regulatorSweeper, { permitNo: 'SW-1' });
    expect(p.status).to.equal('expired');
    expect(p.history.at(-1)).to.include({ action: 'expire', from: 'issued', to: 'expired' });
    expect(p.history.at(-1)?.actor.role).to.equal('sweeper');
    await h.fails('INVALID_STATE', 'permit', 'Expire', sweeper, { permitNo: 'SW-1' });
    expect((await h.read<{ expired: unknown[] }>('permit', 'ListDue', sweeper, {})).expired).to.deep.equal([]);
  });
  it('suspends only for an overdue continuous reading, which ListDue names; it never signs off', async () => {
    const h = fresh();
    await seed(h);
    await toActive(h, 'SW-2', { level: 'special', plannedEnd: iso(T0 + 8 * HOUR) }); // last sample T0 + 50 min
    const due = T0 + 50 * MIN + 2 * HOUR;
    h.now = due;
    expect((await h.read<{ monitoringOverdue: unknown[] }>('permit', 'ListDue', sweeper, {})).monitoringOverdue).to.deep.equal([]);
    h.now = due + 1;
    const listed = await h.read<{ monitoringOverdue: { permitNo: string; dueAt: string }[] }>('permit', 'ListDue', sweeper, {});
    expect(listed.monitoringOverdue).to.deep.equal([{ permitNo: 'SW-2', dueAt: iso(due) }]);
    expect(await h.fails('FORBIDDEN', 'permit', 'Suspend', sweeper, { permitNo: 'SW-2', reason: 'violation', note: 'x' })).to.contain('monitoring_overdue');
    const s = await h.ok<PermitRecord>('permit', 'Suspend', sweeper, { permitNo: 'SW-2', reason: 'monitoring_overdue', note: 'no reading since the due time' });
    expect(s.suspension).to.include({ reason: 'monitoring_overdue' });
    // Suspended permits are not listed again: the sweeper acts once.
    expect((await h.read<{ monitoringOverdue: unknown[] }>('permit', 'ListDue', sweeper, {})).monitoringOverdue).to.deep.equal([]);
    await h.fails('FORBIDDEN', 'permit', 'SignOff', sweeper, { permitNo: 'SW-2', stepId: 'approval', atSite: true });
    await h.fails('FORBIDDEN', 'permit', 'Suspend', regulatorSweeper, { permitNo: 'SW-2', reason: 'monitoring_overdue' });
  });
});
