/**
 * The raw tables' foreign keys (transactions → blocks, events and writes → transactions) dropped
 * (issue 18, point 4: the embedded mirror's catch-up).
 *
 * A foreign key is checked per inserted row by a trigger that looks the parent row up and locks
 * it: in PGlite's WebAssembly that was 10–35 µs a row, three checks a transaction on average,
 * about an eighth of a catch-up's time (bench/RESULTS.md). The check could not fail: the only
 * writer of these tables (block-store.ts) derives a batch's events and writes from the
 * transactions of that batch, and those from its blocks, and inserts all of them in one database
 * transaction. What the keys guarded is checked where it can fail: the stored chain (every header
 * hash and link) and each block's transaction count by `BlockStore.verifyStoredChain`, which the
 * audit command runs. Nothing deletes or rewrites raw rows, so no cascade is lost.
 */
import type { Knex } from 'knex';

export const name = '018-raw-ledger-without-foreign-keys';

const KEYS = [
  { table: 'events', constraint: 'events_block_number_tx_index_foreign', columns: ['block_number', 'tx_index'], parent: 'transactions' },
  { table: 'writes', constraint: 'writes_block_number_tx_index_foreign', columns: ['block_number', 'tx_index'], parent: 'transactions' },
  { table: 'transactions', constraint: 'transactions_block_number_foreign', columns: ['block_number'], parent: 'blocks', parentColumns: ['number'] },
] as const;

export async function up(knex: Knex): Promise<void> {
  for (const k of KEYS) await knex.raw(`ALTER TABLE ?? DROP CONSTRAINT ??`, [k.table, k.constraint]);
}

export async function down(knex: Knex): Promise<void> {
  for (const k of [...KEYS].reverse()) {
    const parentColumns = 'parentColumns' in k ? k.parentColumns : k.columns;
    await knex.raw(
      `ALTER TABLE ?? ADD CONSTRAINT ?? FOREIGN KEY (${k.columns.map(() => '??').join(', ')}) REFERENCES ?? (${parentColumns.map(() => '??').join(', ')})`,
      [k.table, k.constraint, ...k.columns, k.parent, ...parentColumns],
    );
  }
}
