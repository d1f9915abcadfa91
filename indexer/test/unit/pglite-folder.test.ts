/**
 * The PGlite mirror in a folder, as `npm start` keeps it: a fresh folder is given its database by a
 * child process (db.ts, pglite-init.ts) and then opened with the mirror's own settings (the smaller
 * shared_buffers); the store writes and reads through it, and a reopened folder keeps what was
 * written, under the settings it is reopened with.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { BlockStore } from '../../src/block-store.js';
import { PGLITE_SHARED_BUFFERS_DEFAULT } from '../../src/config.js';
import { migrate, openDatabase, toNumber } from '../../src/db.js';
import { syntheticChain, syntheticTx } from '../support/synthetic.js';

describe('PGlite mirror in a folder', function () {
  this.timeout(120_000);
  let dir: string;
  let db: Knex | undefined;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'indexer-pglite-folder-'));
  });
  afterEach(async () => {
    await db?.destroy();
    db = undefined;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const sharedBuffers = async (k: Knex): Promise<string> => {
    const result = (await k.raw('SHOW shared_buffers')) as { rows: { shared_buffers: string }[] };
    return result.rows[0]!.shared_buffers;
  };
  const count = async (k: Knex, table: string): Promise<number> => toNumber((await k(table).count<{ n: unknown }[]>({ n: '*' }))[0]!.n);

  it('creates the database of a fresh folder, runs with the default shared_buffers and mirrors a batch', async () => {
    const folder = path.join(dir, 'mirror');
    db = openDatabase({ pgliteDir: folder }).db;
    // The child process has left a database in the folder before this process opened it.
    expect(fs.existsSync(path.join(folder, 'PG_VERSION'))).to.equal(true);
    await migrate(db);
    expect(await sharedBuffers(db)).to.equal(PGLITE_SHARED_BUFFERS_DEFAULT);
    const chain = syntheticChain([[syntheticTx(0, []), syntheticTx(1, [])], [syntheticTx(0, [])]]);
    await new BlockStore(db).writeBatch(chain);
    expect(await count(db, 'blocks')).to.equal(2);
    expect(await count(db, 'transactions')).to.equal(3);
  });

  it('reopens the folder with what was written, under the shared_buffers it is given', async () => {
    db = openDatabase({ pgliteDir: path.join(dir, 'mirror'), pgliteSharedBuffers: '24MB' }).db;
    await migrate(db);
    expect(await sharedBuffers(db)).to.equal('24MB');
    expect(await count(db, 'blocks')).to.equal(2);
    expect(await count(db, 'transactions')).to.equal(3);
    const { rows } = (await db.raw('SELECT last_block FROM checkpoint WHERE id = 1')) as { rows: { last_block: unknown }[] };
    expect(toNumber(rows[0]!.last_block)).to.equal(1);
  });
});
