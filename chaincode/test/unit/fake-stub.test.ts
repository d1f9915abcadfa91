import '../support/quiet-logs';
import { expect } from 'chai';
import { FakeLedger, FakeStub } from '../support/fake-stub';

const RealStub = require('fabric-shim/lib/stub.js');

function stub(ledger: FakeLedger, transient = new Map<string, Uint8Array>()) {
  return new FakeStub(ledger, 'tx1', Date.parse('2026-06-01T08:00:00.123Z'), transient, 'c:F', ['{}']);
}

async function all(it: Promise<{ next(): Promise<{ value: { key: string }; done: boolean }>; close(): Promise<void> }>): Promise<string[]> {
  const i = await it;
  const keys: string[] = [];
  for (let r = await i.next(); !r.done; r = await i.next()) keys.push(r.value.key);
  await i.close();
  return keys;
}

describe('test support: the in-memory stub behaves like Fabric where the rules depend on it', () => {
  it('encodes composite keys exactly like fabric-shim', () => {
    const s = stub(new FakeLedger());
    for (const [t, a] of [
      ['permit', ['P-1']],
      ['live~site~zone~permit', ['s', 'z', 'p']],
      ['policy_latest', []],
    ] as const) {
      expect(s.createCompositeKey(t, [...a])).to.equal(RealStub.prototype.createCompositeKey.call({}, t, [...a]));
      expect(s.splitCompositeKey(s.createCompositeKey(t, [...a]))).to.deep.equal({ objectType: t, attributes: [...a] });
    }
  });
  it('reads see committed state only, writes apply on commit, deletes remove', async () => {
    const ledger = new FakeLedger();
    const s = stub(ledger);
    await s.putState('a', Buffer.from('1'));
    expect((await s.getState('a')).length).to.equal(0);
    s.commit('');
    const s2 = stub(ledger);
    expect(Buffer.from(await s2.getState('a')).toString()).to.equal('1');
    await s2.deleteState('a');
    s2.commit('');
    expect(ledger.state.has('a')).to.equal(false);
    let threw = false;
    try {
      await stub(ledger).putState('b', Buffer.alloc(0));
    } catch {
      threw = true;
    }
    expect(threw).to.equal(true);
  });
  it('partial composite key queries return matching keys in order; range queries skip composite keys', async () => {
    const ledger = new FakeLedger();
    const s = stub(ledger);
    for (const [a, b] of [
      ['s1', 'z2'],
      ['s1', 'z1'],
      ['s2', 'z1'],
    ])
      await s.putState(s.createCompositeKey('idx', [a as string, b as string]), Buffer.from('{}'));
    await s.putState('plain-b', Buffer.from('x'));
    await s.putState('plain-a', Buffer.from('x'));
    s.commit('');
    const r = stub(ledger);
    const keys = await all(r.getStateByPartialCompositeKey('idx', ['s1']) as never);
    expect(keys.map((k) => r.splitCompositeKey(k).attributes)).to.deep.equal([
      ['s1', 'z1'],
      ['s1', 'z2'],
    ]);
    expect(await all(r.getStateByRange('', '') as never)).to.deep.equal(['plain-a', 'plain-b']);
    expect(await all(r.getStateByRange('plain-a', 'plain-b') as never)).to.deep.equal(['plain-a']);
  });
  it('keeps private data apart, with only its hash in the block; exposes transient data, time and tx id', async () => {
    const ledger = new FakeLedger();
    const s = stub(ledger, new Map([['personal', Buffer.from('{"name":"x"}')]]));
    expect(Buffer.from(s.getTransient().get('personal') as Uint8Array).toString()).to.contain('name');
    await s.putPrivateData('_implicit_org_EnterpriseMSP', 'k', Buffer.from('secret'));
    const block = s.commit('');
    expect(JSON.stringify(block)).to.not.contain('secret');
    expect(block.privateWrites[0]?.valueHash).to.match(/^[0-9a-f]{64}$/);
    const r = stub(ledger);
    expect(Buffer.from(await r.getPrivateData('_implicit_org_EnterpriseMSP', 'k')).toString()).to.equal('secret');
    expect((await r.getPrivateDataHash('_implicit_org_EnterpriseMSP', 'k')).length).to.equal(32);
    expect((await r.getState('k')).length).to.equal(0);
    expect(Number(r.getTxTimestamp().seconds) * 1000 + r.getTxTimestamp().nanos / 1e6).to.equal(Date.parse('2026-06-01T08:00:00.123Z'));
    expect(r.getTxID()).to.equal('tx1');
  });
  it('judges a transaction endorsed before others committed as Fabric validates it: MVCC on a read key, phantom on a scanned range', async () => {
    const ledger = new FakeLedger();
    const s = stub(ledger);
    await s.getState('k');
    await all(s.getStateByPartialCompositeKey('idx', ['s1']) as never);
    expect(s.conflictWith(new Set(['other', s.createCompositeKey('idx', ['s2', 'z'])]))).to.equal(null);
    expect(s.conflictWith(new Set(['k']))).to.equal('MVCC_READ_CONFLICT');
    expect(s.conflictWith(new Set([s.createCompositeKey('idx', ['s1', 'z9'])]))).to.equal('PHANTOM_READ_CONFLICT');
    // a partial key is a whole attribute: s1 does not cover s10
    expect(s.conflictWith(new Set([s.createCompositeKey('idx', ['s10', 'z'])]))).to.equal(null);
  });
});
