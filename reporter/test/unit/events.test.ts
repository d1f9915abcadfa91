import { type PermitRecord, permitEventSummary } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { factOf } from '../../src/push/events.js';

/** The fields of a permit that a push fact reads; the rest of the record plays no part. */
const suspended = {
  permitNo: 'HW-7',
  operationType: 'hot_work',
  level: 'special',
  status: 'suspended',
  location: { siteId: 'SITE-1', zoneId: 'Z1', description: 'tank farm' },
  suspension: { reason: 'monitoring_overdue', alarmId: null, note: '', at: '2026-12-07T10:00:00.000Z' },
  history: [
    { action: 'apply', from: null, to: 'applied', actor: { mspId: 'Enterprise2MSP', id: 'u1', role: 'applicant' }, at: '', txId: 't0' },
    { action: 'suspend', from: 'active', to: 'suspended', actor: { mspId: 'RegulatorMSP', id: 'r1', role: 'regulator' }, at: '', txId: 't1' },
  ],
} as unknown as PermitRecord;

function event(schemaVersion: number, payload: Record<string, unknown>): Uint8Array {
  const envelope = { schemaVersion, type: 'PermitSuspended', txId: 't1', at: '2026-12-07T10:00:00.000Z', payload };
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

describe('reporter: permit events of both schema versions', () => {
  const transition = { permitNo: 'HW-7', action: 'suspend', from: 'active', to: 'suspended' };

  it('reads a version 2 summary and a version 1 permit into the same fact, the applicant as the enterprise', () => {
    const v2 = factOf('PermitSuspended', event(2, { ...transition, summary: permitEventSummary(suspended) }), 12n, 't1');
    const v1 = factOf('PermitSuspended', event(1, { ...transition, permit: suspended }), 12n, 't1');
    expect(v2).to.not.equal(null);
    const { data: _v2data, ...fromSummary } = v2!;
    const { data: _v1data, ...fromPermit } = v1!;
    expect(fromPermit).to.deep.equal(fromSummary);
    expect(fromSummary).to.deep.include({
      eventType: 'MonitoringOverdue',
      enterpriseId: 'Enterprise2MSP',
      siteId: 'SITE-1',
      permit: { permitNo: 'HW-7', operationType: 'hot_work', level: 'special', status: 'suspended' },
      orderKey: 'permit:HW-7',
    });
  });

  it('names no enterprise for a permit nobody has applied for yet', () => {
    expect(permitEventSummary({ ...suspended, history: [] }).enterpriseMsp).to.equal(null);
  });
});
