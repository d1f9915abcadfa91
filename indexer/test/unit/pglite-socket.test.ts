/**
 * The PGlite mirror read through its PostgreSQL socket (INDEXER_PGLITE_SOCKET_PORT) with the pg
 * client while the store writes: a reader sees whole batches only, a reader's transaction is not
 * entered by the indexer's batch (nor the batch by the reader), and a reader that disconnects in
 * the middle of its transaction does not stall the indexer.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import pg from 'pg';
import { BlockStore } from '../../src/block-store.js';
import { migrate, openDatabase } from '../../src/db.js';
import { type PgliteSocket, startPgliteSocket } from '../../src/pglite-socket.js';
import { syntheticChain, syntheticTx } from '../support/synthetic.js';

describe('PGlite mirror over the PostgreSQL socket', function () {
  this.timeout(60_000);
  let db: Knex;
  let store: BlockStore;
  let socket: PgliteSocket;
  let next = 0;
  let prev: Buffer = Buffer.alloc(0);

  /** A pg client; a connection closed just before may still occupy the one slot for a moment. */
  const client = async (): Promise<pg.Client> => {
    for (let attempt = 0; ; attempt++) {
      const c = new pg.Client({ host: '127.0.0.1', port: socket.port, user: 'postgres', database: 'postgres' });
      c.on('error', () => undefined);
      try {
        await c.connect();
        return c;
      } catch (err) {
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const count = async (c: pg.Client, table: string) => Number((await c.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n);
  /** Writes `blocks` blocks of `txs` transactions each in one batch. */
  const writeBatch = async (blocks: number, txs: number) => {
    const chain = syntheticChain(
      Array.from({ length: blocks }, () => Array.from({ length: txs }, (_, i) => syntheticTx(i, []))),
      next,
      prev,
    );
    await store.writeBatch(chain);
    next += blocks;
    prev = chain[chain.length - 1]!.headerHash;
  };

  before(async () => {
    const opened = openDatabase({ pgliteDir: 'memory' });
    db = opened.db;
    await migrate(db);
    socket = await startPgliteSocket(opened.pglite!.instance, opened.pglite!.lock, '127.0.0.1', 0);
    // A delay inside each write transaction, before COMMIT, leaves time for readers to come in.
    store = new BlockStore(db, { testDelayInTxMs: 30 });
  });
  after(async () => {
    await socket?.close();
    await db?.destroy();
  });

  it('answers the pg client with the mirrored tables', async () => {
    await writeBatch(2, 3);
    const c = await client();
    try {
      expect(await count(c, 'blocks')).to.equal(2);
      expect(await count(c, 'transactions')).to.equal(6);
      const { rows } = await c.query('SELECT last_block FROM checkpoint WHERE id = $1', [1]);
      expect(Number(rows[0].last_block)).to.equal(1);
    } finally {
      await c.end();
    }
  });

  it('shows a reader whole batches only while the indexer writes', async () => {
    const c = await client();
    let writing = true;
    const seen: { blocks: number; txs: number; checkpoint: number; xid: unknown }[] = [];
    const reader = (async () => {
      while (writing) {
        // One session underneath: a read that ran inside the indexer's open batch would see a
        // transaction id already assigned (the batch's writes), and possibly a partial batch.
        const { rows } = await c.query(
          'SELECT txid_current_if_assigned() AS xid, (SELECT count(*)::int FROM blocks) AS blocks, ' +
            '(SELECT count(*)::int FROM transactions) AS txs, (SELECT last_block FROM checkpoint WHERE ' +
            'id = $1) AS checkpoint',
          [1],
        );
        seen.push({ xid: rows[0].xid, blocks: rows[0].blocks, txs: rows[0].txs, checkpoint: Number(rows[0].checkpoint) });
      }
    })();
    try {
      for (let i = 0; i < 15; i++) await writeBatch(3, 4);
    } finally {
      writing = false;
      await reader;
      await c.end();
    }
    expect(seen.length).to.be.greaterThan(5);
    for (const s of seen) {
      expect(s.xid).to.equal(null);
      expect(s.blocks).to.equal(s.checkpoint + 1);
      // 2 blocks of 3 transactions from the first test, then batches of 3 blocks of 4.
      expect(s.txs).to.equal(6 + (s.blocks - 2) * 4);
      expect((s.blocks - 2) % 3).to.equal(0);
    }
    expect(new Set(seen.map((s) => s.blocks)).size).to.be.greaterThan(2);
  });

  it("keeps a reader's transaction and the indexer's batch apart", async () => {
    const c = await client();
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const before = await count(c, 'blocks');
      let written = false;
      const write = writeBatch(2, 1).then(() => (written = true));
      await new Promise((r) => setTimeout(r, 200));
      // The batch waits for the reader's transaction: it has not run inside it.
      expect(written).to.equal(false);
      expect(await count(c, 'blocks')).to.equal(before);
      // A failing statement aborts the reader's transaction, not the indexer's batch.
      await c.query('SELECT * FROM no_such_table').catch(() => undefined);
      await c.query('ROLLBACK');
      await write;
      expect(await count(c, 'blocks')).to.equal(before + 2);
    } finally {
      await c.end();
    }
  });

  it("gives the next client a session without the last client's prepared statements (42P05 on npm start)", async () => {
    const prepared = { name: 'kpis_alike', text: 'SELECT count(*)::int AS n FROM checkpoint WHERE id = $1', values: [1] };
    const first = await client();
    try {
      expect((await first.query(prepared)).rows).to.deep.equal([{ n: 1 }]);
      const left = await first.query(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'kpis_alike'`);
      expect(left.rows, 'the statement is prepared on the session').to.deep.equal([{ n: 1 }]);
    } finally {
      await first.end();
    }
    // A new driver connection prepares the same name again, as the gateway's pool does after it
    // closed an idle connection.
    const next = await client();
    try {
      expect((await next.query(prepared)).rows).to.deep.equal([{ n: 1 }]);
      expect((await next.query(prepared)).rows, 'and uses it again').to.deep.equal([{ n: 1 }]);
    } finally {
      await next.end();
    }
  });

  it('refuses a second connection while one is open', async () => {
    const c = await client();
    try {
      const second = new pg.Client({ host: '127.0.0.1', port: socket.port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 3000 });
      second.on('error', () => undefined);
      const err = await second.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      await second.end().catch(() => undefined);
      expect(err).to.be.instanceOf(Error);
      expect(await count(c, 'checkpoint')).to.equal(1);
    } finally {
      await c.end();
    }
  });

  it('rolls back a reader that disconnects inside its transaction, and the indexer goes on', async () => {
    const c = await client();
    await c.query('BEGIN');
    await c.query('CREATE TEMP TABLE scratch (x int)');
    const before = next;
    const write = writeBatch(1, 1);
    c.connection.stream.destroy();
    await write;
    expect(next).to.equal(before + 1);
    const d = await client();
    try {
      expect(await count(d, 'blocks')).to.equal(next);
      expect(Number((await d.query("SELECT count(*)::int AS n FROM pg_class WHERE relname = 'scratch'")).rows[0].n)).to.equal(0);
    } finally {
      await d.end();
    }
  });
});
