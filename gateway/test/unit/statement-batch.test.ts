/** The group commit of statement-batch.ts, with no database: what goes into which statement, and how a failure reaches its items. */
import { expect } from 'chai';
import { StatementBatch } from '../../src/statement-batch.js';

describe('gateway: statement batches (group commit)', () => {
  it('runs a lone item at once, groups the items that arrive while a statement runs, and keeps two items of one key apart', async () => {
    const statements: string[][] = [];
    let release: () => void = () => undefined;
    const batch = new StatementBatch<{ key: string; n: number }, string>(
      async (items) => {
        statements.push(items.map((i) => `${i.key}${i.n}`));
        // The first statement is held until the others have queued.
        if (statements.length === 1) await new Promise<void>((r) => (release = r));
        return items.map((i) => `${i.key}:${i.n}`);
      },
      (i) => i.key,
    );
    const first = batch.run({ key: 'a', n: 0 });
    expect(statements).to.deep.equal([['a0']]);
    const later = ['a', 'b', 'c', 'b', 'd'].map((key, n) => batch.run({ key, n: n + 1 }));
    release();
    expect(await first).to.equal('a:0');
    expect(await Promise.all(later)).to.deep.equal(['a:1', 'b:2', 'c:3', 'b:4', 'd:5']);
    // The second b waited for a statement of its own; every other queued item went in one.
    expect(statements).to.deep.equal([['a0'], ['a1', 'b2', 'c3', 'd5'], ['b4']]);
    expect(batch.stats).to.deep.equal({ statements: 3, items: 6 });
  });

  it('fails every item of a failed statement with its error, and goes on with the next', async () => {
    let calls = 0;
    const batch = new StatementBatch<string, string>(
      async (items) => {
        calls++;
        if (items.includes('bad')) throw new Error('refused');
        return items.map((i) => i.toUpperCase());
      },
      (i) => i,
    );
    const results = await Promise.allSettled([batch.run('bad'), batch.run('x'), batch.run('y')]);
    expect(results[0]).to.deep.include({ status: 'rejected' });
    expect(results.slice(1)).to.deep.equal([
      { status: 'fulfilled', value: 'X' },
      { status: 'fulfilled', value: 'Y' },
    ]);
    expect(calls).to.equal(2);
    expect(await batch.run('z')).to.equal('Z');
  });

  it('puts at most maxItems in one statement', async () => {
    const sizes: number[] = [];
    const batch = new StatementBatch<number, number>(
      async (items) => {
        sizes.push(items.length);
        return items;
      },
      (i) => String(i),
      3,
    );
    expect(await Promise.all([1, 2, 3, 4, 5, 6, 7].map((i) => batch.run(i)))).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
    expect(sizes).to.deep.equal([1, 3, 3]);
  });
});
