/**
 * listByPartialKey (store.ts) and the peer's query iterators: one read to its end is not closed by
 * the chaincode (the peer closed it with the last results; a QUERY_STATE_CLOSE would be a round
 * trip that closes nothing), one left early by an error is.
 */

import { expect } from 'chai';
import type { Context } from 'fabric-contract-api';
import { listByPartialKey } from '../../src/store';

const NS = '\u0000';

/** A context whose partial-key iterator serves `values` (failing at `failAt`, if given) and counts its close() calls. */
function contextWith(values: object[], failAt?: number): { ctx: Context; closes: () => number } {
  let closes = 0;
  let i = 0;
  const iterator = {
    async next() {
      if (i === failAt) throw new Error('the peer went away');
      if (i >= values.length) return { value: undefined, done: true };
      const n = i++;
      return { value: { key: `${NS}worker${NS}w${n}${NS}`, value: Buffer.from(JSON.stringify(values[n])) }, done: false };
    },
    async close() {
      closes += 1;
    },
  };
  const stub = {
    getStateByPartialCompositeKey: async () => iterator,
    splitCompositeKey: (key: string) => {
      const [objectType, ...attributes] = key.split(NS).filter((p) => p !== '');
      return { objectType, attributes };
    },
  };
  return { ctx: { stub } as unknown as Context, closes: () => closes };
}

describe('chaincode: reading by partial composite key', () => {
  it('reads every entry in order and sends no close for an iterator read to its end', async () => {
    const { ctx, closes } = contextWith([{ n: 0 }, { n: 1 }, { n: 2 }]);
    const entries = await listByPartialKey<{ n: number }>(ctx, 'worker', []);
    expect(entries.map((e) => [e.attributes, e.value.n])).to.deep.equal([
      [['w0'], 0],
      [['w1'], 1],
      [['w2'], 2],
    ]);
    expect(closes()).to.equal(0);
  });

  it('closes an iterator it leaves early, and passes the error on', async () => {
    const { ctx, closes } = contextWith([{ n: 0 }, { n: 1 }, { n: 2 }], 1);
    const err = await listByPartialKey(ctx, 'worker', []).catch((e: unknown) => e);
    expect((err as Error).message).to.equal('the peer went away');
    expect(closes()).to.equal(1);
  });
});
