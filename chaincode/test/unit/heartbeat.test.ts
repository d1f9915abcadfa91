import type { HeartbeatRecord } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { caller, Harness, Positional } from '../support/harness';

const operator = { mspId: 'EnterpriseMSP', id: 'x509::/CN=Admin@enterprise.ledger.local::/CN=ca.enterprise', attrs: {} };

describe('heartbeat: the liveness probe follows the contracts conventions', () => {
  it('records once per id for an identity without a ledger role, and reads it back from either org', async () => {
    const h = new Harness();
    const r = await h.ok<HeartbeatRecord>('heartbeat', 'Record', operator, new Positional('hb-1', 'probe'));
    expect(r).to.deep.include({ id: 'hb-1', note: 'probe', recordedAt: new Date(h.now).toISOString() });
    expect(r.recordedBy).to.deep.equal({ mspId: 'EnterpriseMSP', certificateId: operator.id, role: null });
    const read = await h.read<HeartbeatRecord>('heartbeat', 'Read', caller('auditor'), new Positional('hb-1'));
    expect(read).to.deep.equal(r);
  });

  it('refuses, with coded errors and without writing, a repeated id, a bad id and a caller of another org', async () => {
    const h = new Harness();
    await h.ok('heartbeat', 'Record', operator, new Positional('hb-2', 'first'));
    expect(await h.fails('ALREADY_EXISTS', 'heartbeat', 'Record', operator, new Positional('hb-2', 'second'))).to.contain('use a new id');
    await h.fails('VALIDATION_FAILED', 'heartbeat', 'Record', operator, new Positional('bad id with spaces', 'x'));
    const outsider = { mspId: 'OtherMSP', id: 'x509::/CN=someone::/CN=ca.other', attrs: {} };
    expect(await h.fails('FORBIDDEN', 'heartbeat', 'Record', outsider, new Positional('hb-3', 'x'))).to.contain('OtherMSP');
  });

  it("refuses a proposal dated more than two minutes off the peers' clocks, which would date its block for the orderer-signature check", async () => {
    const h = new Harness();
    for (const skew of [2 * 60_000 + 1, -2 * 60_000 - 1, 75 * 365 * 86_400_000]) {
      h.clientClockSkewMs = skew;
      expect(await h.fails('RULE_VIOLATION', 'heartbeat', 'Record', operator, new Positional(`hb-skew-${skew}`, 'x'))).to.contain("peers' clocks");
    }
    h.clientClockSkewMs = 2 * 60_000;
    await h.ok('heartbeat', 'Record', operator, new Positional('hb-skew-ok', 'x'));
  });

  it("refuses a note, a role attribute or a certificate name that the regulator's mirror cannot store", async () => {
    const h = new Harness();
    expect(await h.fails('VALIDATION_FAILED', 'heartbeat', 'Record', operator, new Positional('hb-nul', 'pro\u0000be'))).to.contain('note holds a NUL');
    const oddRole = { ...operator, attrs: { 'ledger.role': 'probe\u0000' } };
    expect(await h.fails('FORBIDDEN', 'heartbeat', 'Record', oddRole, new Positional('hb-role', 'x'))).to.contain('ledger.role holds a NUL');
    const oddName = { ...operator, id: 'x509::/CN=Admin\ud800::/CN=ca' };
    expect(await h.fails('FORBIDDEN', 'heartbeat', 'Record', oddName, new Positional('hb-name', 'x'))).to.contain('lone UTF-16 surrogate');
  });

  it('reading an unknown id is NOT_FOUND', async () => {
    const h = new Harness();
    const r = await h.evaluate('heartbeat', 'Read', operator, new Positional('nope'));
    expect(r.ok).to.equal(false);
    expect(r.error?.message).to.match(/^NOT_FOUND: heartbeat nope does not exist/);
  });
});
