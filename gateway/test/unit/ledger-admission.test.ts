/**
 * The gateway's bound on ledger calls at its peer (ledger-admission.ts). Against the real network
 * through the REST API: integration/ledger-admission.test.ts.
 */
import { expect } from 'chai';
import { LedgerAdmission, LedgerBusy } from '../../src/ledger-admission.js';

/** A call that runs until released, recording when it started. */
function gate(started: string[], name: string) {
  let release!: (v: string) => void;
  let fail!: (e: Error) => void;
  const done = new Promise<string>((resolve, reject) => {
    release = resolve;
    fail = reject;
  });
  return {
    call: () => {
      started.push(name);
      return done;
    },
    release: () => release(name),
    fail: () => fail(new Error(`${name} failed`)),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('gateway: admission of ledger calls at the peer (unit)', () => {
  it('runs at most maxInFlight calls at once; the others start in the order they came as places free up', async () => {
    const a = new LedgerAdmission('enterprise', { maxInFlight: 2, maxQueued: 10, maxWaitMs: 60_000 });
    const started: string[] = [];
    const calls = ['a', 'b', 'c', 'd', 'e'].map((n) => gate(started, n));
    const results = calls.map((c) =>
      a.run(c.call).then(
        () => 'fulfilled',
        () => 'rejected',
      ),
    );
    await tick();
    expect(started).to.deep.equal(['a', 'b']);
    expect([a.inFlight, a.queued]).to.deep.equal([2, 3]);
    calls[1]!.release();
    await tick();
    expect(started).to.deep.equal(['a', 'b', 'c']);
    calls[0]!.fail();
    await tick();
    expect(started).to.deep.equal(['a', 'b', 'c', 'd']);
    for (const c of calls) c.release();
    expect(await Promise.all(results)).to.deep.equal(['rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect([a.inFlight, a.queued]).to.deep.equal([0, 0]);
  });

  it('refuses at once, without running it, a call that finds maxQueued already waiting', async () => {
    const a = new LedgerAdmission('enterprise', { maxInFlight: 1, maxQueued: 1, maxWaitMs: 60_000 });
    const started: string[] = [];
    const first = gate(started, 'first');
    const second = gate(started, 'second');
    const running = a.run(first.call);
    const waiting = a.run(second.call);
    const refused = await a.run(gate(started, 'third').call).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(LedgerBusy);
    expect((refused as LedgerBusy).reason).to.equal('queue_full');
    expect((refused as Error).message).to.contain('the enterprise ledger is at capacity: 1 calls at its peer and 1 waiting');
    first.release();
    second.release();
    expect(await Promise.all([running, waiting])).to.deep.equal(['first', 'second']);
    expect(started).to.deep.equal(['first', 'second']);
  });

  it('refuses a call that waited maxWaitMs, which then never runs, and gives its turn to the next', async () => {
    const a = new LedgerAdmission('regulator', { maxInFlight: 1, maxQueued: 5, maxWaitMs: 50 });
    const started: string[] = [];
    const long = gate(started, 'long');
    const running = a.run(long.call);
    const late = a.run(gate(started, 'late').call).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 80));
    const later = gate(started, 'later');
    const next = a.run(later.call);
    const refused = await late;
    expect((refused as LedgerBusy).reason).to.equal('waited_too_long');
    long.release();
    await tick();
    later.release();
    expect(await Promise.all([running, next])).to.deep.equal(['long', 'later']);
    expect(started).to.deep.equal(['long', 'later']);
    expect([a.inFlight, a.queued]).to.deep.equal([0, 0]);
  });
});
