/**
 * The embedded mirror keeps records, payloads and write values uncompressed up to a page (src/db.ts,
 * UNCOMPRESSED_IN_PGLITE), and a PostgreSQL server keeps its default: a 3 KB event payload is
 * stored as it is in PGlite and compressed (pglz) by PostgreSQL. PGlite creates WAL segments without
 * zero-filling them (PGLITE_SETTINGS); a server keeps its own settings.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { PGLITE_TOAST_TUPLE_TARGET, UNCOMPRESSED_IN_PGLITE } from '../../src/db.js';
import { migratedDatabase } from '../support/database.js';

const payload = Buffer.from(JSON.stringify({ type: 'PermitApplied', note: 'hot work at the tank farm; '.repeat(120) }));

for (const engine of ['pglite', 'postgres'] as const) {
  describe(`indexer: how the mirror stores large rows (${engine})`, function () {
    this.timeout(120_000);
    let db: Knex;
    let drop: (() => Promise<void>) | undefined;

    before(async () => {
      ({ db, drop } = await migratedDatabase(engine, 'storage'));
    });
    after(async () => {
      await drop?.();
    });

    it(engine === 'pglite' ? 'keeps a 3 KB payload uncompressed' : 'compresses a 3 KB payload', async () => {
      const options = (await db.raw(`SELECT relname, reloptions FROM pg_class WHERE relname = ANY(?) ORDER BY relname`, [[...UNCOMPRESSED_IN_PGLITE]]))
        .rows as { relname: string; reloptions: string[] | null }[];
      expect(options.map((o) => o.relname)).to.deep.equal([...UNCOMPRESSED_IN_PGLITE].sort());
      for (const o of options) {
        if (engine === 'pglite') expect(o.reloptions).to.deep.equal([`toast_tuple_target=${PGLITE_TOAST_TUPLE_TARGET}`]);
        else expect(o.reloptions).to.equal(null);
      }
      expect(payload.length).to.be.within(3000, 4000);
      await db('events').insert({ block_number: 1, tx_index: 0, event_index: 0, tx_id: 'tx-1', valid: true, chaincode_id: 'compliance', name: 'e', payload });
      const [row] = (await db.raw(`SELECT pg_column_compression(payload) AS method, pg_column_size(payload)::int AS size FROM events`)).rows as {
        method: string | null;
        size: number;
      }[];
      if (engine === 'pglite') expect(row).to.deep.equal({ method: null, size: payload.length + 4 });
      else {
        expect(row!.method).to.equal('pglz');
        expect(row!.size).to.be.lessThan(payload.length / 2);
      }
    });

    it(engine === 'pglite' ? 'creates WAL segments without filling them with zeros first' : "keeps the server's WAL settings", async () => {
      const [row] = (await db.raw('SHOW wal_init_zero')).rows as { wal_init_zero: string }[];
      expect(row!.wal_init_zero).to.equal(engine === 'pglite' ? 'off' : 'on');
    });
  });
}
