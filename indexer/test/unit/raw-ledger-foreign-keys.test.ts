/**
 * Migration 018 on PostgreSQL and PGlite: the raw tables lose their three foreign keys, and `down`
 * puts the same keys back (a row whose transaction is missing is refused again).
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrationSource } from '../../src/migrations/index.js';
import { migratedDatabase } from '../support/database.js';

/** By name: later migrations are applied too, and `down` alone would undo the last of them. */
const EIGHTEEN = '018-raw-ledger-without-foreign-keys';

const foreignKeys = async (db: Knex) =>
  (
    (await db.raw(`SELECT conrelid::regclass::text AS "table", conname AS name FROM pg_constraint
                    WHERE contype = 'f' AND conrelid::regclass::text IN ('blocks', 'transactions', 'events', 'writes') ORDER BY 1, 2`)) as {
      rows: { table: string; name: string }[];
    }
  ).rows;

const orphanEvent = (db: Knex) =>
  db('events').insert({
    block_number: 99,
    tx_index: 0,
    event_index: 0,
    tx_id: 'tx-orphan',
    valid: true,
    chaincode_id: 'compliance',
    name: 'e',
    payload: Buffer.from('{}'),
  });

for (const engine of ['postgres', 'pglite'] as const) {
  describe(`indexer: migration 018, the raw tables without foreign keys (${engine})`, function () {
    this.timeout(120_000);
    let db: Knex;
    let drop: (() => Promise<void>) | undefined;

    before(async () => {
      ({ db, drop } = await migratedDatabase(engine, 'fk018'));
    });
    after(async () => {
      await drop?.();
    });

    it('drops the three keys; down restores them and they refuse an orphan again; up drops them again', async () => {
      expect(await foreignKeys(db)).to.deep.equal([]);
      await db.migrate.down({ migrationSource, name: EIGHTEEN });
      expect(await foreignKeys(db)).to.deep.equal([
        { table: 'events', name: 'events_block_number_tx_index_foreign' },
        { table: 'transactions', name: 'transactions_block_number_foreign' },
        { table: 'writes', name: 'writes_block_number_tx_index_foreign' },
      ]);
      const refused = await orphanEvent(db).catch((e: { code?: string }) => e);
      expect((refused as { code?: string }).code).to.equal('23503');
      await db.migrate.up({ migrationSource, name: EIGHTEEN });
      expect(await foreignKeys(db)).to.deep.equal([]);
    });
  });
}
