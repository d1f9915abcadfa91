/**
 * The copied upsert of PGlite (block-store.ts, upsertCopied) on a real in-memory PGlite: it merges
 * or ignores on the key as the INSERT it replaces would, and it declines, writing nothing and
 * leaving nothing behind for the next batch, the rows it cannot carry (columns that differ from row
 * to row, a value CSV has no form for), which the caller then inserts the usual way.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { upsertCopied } from '../../src/block-store.js';
import { openDb } from '../../src/db.js';

describe('indexer: the copied upsert of PGlite', function () {
  this.timeout(60_000);
  let db: Knex;

  before(async () => {
    db = openDb({ pgliteDir: 'memory' });
    await db.raw('CREATE TABLE t (k text PRIMARY KEY, v text, n integer, j jsonb)');
  });
  after(async () => {
    await db?.destroy();
  });

  const rows = async () => (await db('t').select('k', 'v', 'n', 'j').orderBy('k')) as { k: string; v: string | null; n: number | null; j: unknown }[];
  const upsert = (onConflict: 'merge' | 'ignore', r: Record<string, unknown>[]) =>
    db.transaction((trx) => upsertCopied(trx, { table: 't', key: ['k'], onConflict, rows: r }));

  it('inserts, then merges or ignores on the key as the INSERT would', async () => {
    expect(
      await upsert('merge', [
        { k: 'a', v: 'one, "quoted"', n: 1 },
        { k: 'b', v: null, n: 2 },
      ]),
    ).to.deep.equal([]);
    expect(await upsert('merge', [{ k: 'a', v: 'changed', n: 10 }])).to.deep.equal([]);
    expect(await upsert('ignore', [{ k: 'b', v: 'ignored', n: 20 }])).to.deep.equal([]);
    expect(await rows()).to.deep.equal([
      { k: 'a', v: 'changed', n: 10, j: null },
      { k: 'b', v: null, n: 2, j: null },
    ]);
  });

  it('declines rows whose columns differ, and a value CSV cannot carry, writing nothing and leaving nothing for the next batch', async () => {
    const before = await rows();
    expect(
      await upsert('merge', [
        { k: 'c', v: 'x' },
        { k: 'd', n: 4 },
      ]),
    ).to.deep.equal([
      { k: 'c', v: 'x' },
      { k: 'd', n: 4 },
    ]);
    // In one transaction, as a batch is: the refused rows must not reach the table with the next group.
    await db.transaction(async (trx) => {
      expect(await upsertCopied(trx, { table: 't', key: ['k'], onConflict: 'merge', rows: [{ k: 'e', j: { a: 1 } }] })).to.deep.equal([
        { k: 'e', j: { a: 1 } },
      ]);
      expect(await upsertCopied(trx, { table: 't', key: ['k'], onConflict: 'merge', rows: [{ k: 'f', j: null }] })).to.deep.equal([]);
    });
    expect(await rows()).to.deep.equal([...before, { k: 'f', v: null, n: null, j: null }]);
  });
});
