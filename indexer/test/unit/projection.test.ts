import { LEDGER_EVENT_TYPES, PERMIT_EVENT_TYPES, permitStateKey } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { DomainBatch, ProjectionError, projectEvent, projectors } from '../../src/projection.js';
import { syntheticPermit } from '../support/synthetic.js';

const ctx = { blockNumber: 7, txId: 'tx-1' };
const encode = (type: string, payload: unknown) => Buffer.from(JSON.stringify({ schemaVersion: 1, type, txId: 'tx-1', at: 'x', payload }));

describe('projection: event type to domain rows (unit)', () => {
  it('has a projector for every permit lifecycle event type of the schema', () => {
    for (const type of Object.values(PERMIT_EVENT_TYPES)) expect(projectors, type).to.have.property(type);
  });

  it('has a projector for every event type the schema lists at run time', () => {
    expect(LEDGER_EVENT_TYPES.filter((t) => !(t in projectors))).to.deep.equal([]);
  });

  it('has no projector for a type the schema does not list (it would hide a renamed event)', () => {
    const declared: readonly string[] = LEDGER_EVENT_TYPES;
    expect(Object.keys(projectors).filter((t) => !declared.includes(t))).to.deep.equal([]);
  });

  it('projects a heartbeat, and reports unknown types and foreign payloads without failing', () => {
    const hb = projectEvent(
      encode('HeartbeatRecorded', {
        id: 'h1',
        note: 'n',
        recordedBy: { mspId: 'EnterpriseMSP', certificateId: 'c' },
        recordedAt: '2026-01-01T00:00:00Z',
        txId: 'tx-1',
      }),
      ctx,
    );
    expect(hb.outcome).to.equal('projected');
    expect(hb.ops[0]).to.deep.include({ table: 'heartbeats', onConflict: 'merge' });
    expect(projectEvent(encode('SomethingNew', {}), ctx)).to.deep.include({ outcome: 'unknown_type', type: 'SomethingNew' });
    expect(projectEvent(Buffer.from('not json'), ctx).outcome).to.equal('undecodable');
    expect(projectEvent(Buffer.from(JSON.stringify({ schemaVersion: 3, type: 'HeartbeatRecorded' })), ctx).outcome).to.equal('undecodable');
  });

  it('replaces U+0000 and lone surrogates by U+FFFD and says where the first was; a clean event says nothing', () => {
    const heartbeat = (note: string) => ({
      id: 'h1',
      note,
      recordedBy: { mspId: 'EnterpriseMSP', certificateId: 'c' },
      recordedAt: '2026-01-01T00:00:00Z',
      txId: 'tx-1',
    });
    const bad = projectEvent(encode('HeartbeatRecorded', { ...heartbeat('a\u0000b \ud83d'), 'x\udc00': 1 }), ctx);
    expect(bad.replacedText).to.deep.equal(['payload', 'note']);
    expect(bad.ops[0]!.row).to.deep.include({ note: 'a\ufffdb \ufffd' });
    // A surrogate pair is one character, not two halves.
    const clean = projectEvent(encode('HeartbeatRecorded', heartbeat('flame \ud83d\udd25')), ctx);
    expect(clean).to.not.have.property('replacedText');
    expect(clean.ops[0]!.row).to.deep.include({ note: 'flame \ud83d\udd25' });
  });

  it('refuses, loudly, a known event type whose payload does not have the expected shape', () => {
    expect(() => projectEvent(encode('PermitApplied', { permitNo: 'P-1' }), ctx)).to.throw(ProjectionError, /block 7 tx tx-1: PermitApplied/);
  });

  it("takes a schema-2 permit event's permit from its transaction's write, and refuses the event when there is none", () => {
    const v2 = (permitNo: string) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          type: 'PermitApplied',
          txId: 'tx-1',
          at: 'x',
          payload: { permitNo, action: 'apply', from: null, to: 'applied', summary: { enterpriseMsp: 'EnterpriseMSP', siteId: 'S1' } },
        }),
      );
    const record = { ...syntheticPermit('P-2', 'applied', 1), description: 'valve\u0000 7' };
    const written = new Map([[permitStateKey('P-2'), Buffer.from(JSON.stringify(record))]]);
    const projected = projectEvent(v2('P-2'), { ...ctx, written: (key) => written.get(key) });
    expect(projected.outcome).to.equal('projected');
    const row = projected.ops.find((o) => o.table === 'permits')!.row;
    expect(row).to.deep.include({ permit_no: 'P-2', status: 'applied', site_id: 'S1', org_msp: 'EnterpriseMSP' });
    // Text from the write is made storable like the event's own, and reported where the v1 event had it.
    expect(projected.replacedText).to.deep.equal(['payload', 'permit', 'description']);
    expect(() => projectEvent(v2('P-3'), { ...ctx, written: (key) => written.get(key) })).to.throw(ProjectionError, /PermitApplied .*writes no permit P-3/);
    expect(() => projectEvent(v2('P-2'), ctx)).to.throw(ProjectionError, /writes no permit P-2/);
  });

  it('keeps the last version of an upserted key and the first of an insert-once key within a batch', () => {
    const batch = new DomainBatch();
    batch.add([{ table: 'devices', key: ['device_id'], row: { device_id: 'd1', status: 'active' }, onConflict: 'merge' }]);
    batch.add([{ table: 'devices', key: ['device_id'], row: { device_id: 'd1', status: 'disabled' }, onConflict: 'merge' }]);
    batch.add([{ table: 'gas_tests', key: ['test_id'], row: { test_id: 'g1', passed: true }, onConflict: 'ignore' }]);
    batch.add([{ table: 'gas_tests', key: ['test_id'], row: { test_id: 'g1', passed: false }, onConflict: 'ignore' }]);
    const groups = Object.fromEntries(batch.groups().map((g) => [g.table, g.rows]));
    expect(groups.devices).to.deep.equal([{ device_id: 'd1', status: 'disabled' }]);
    expect(groups.gas_tests).to.deep.equal([{ test_id: 'g1', passed: true }]);
  });
});
