/**
 * Raw mirror of the channel: blocks, transactions (valid and invalid), chaincode events and write
 * sets, plus the single-row checkpoint that is committed with each batch of blocks.
 */
import type { Knex } from 'knex';

export const name = '001-raw-ledger';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('blocks', (t) => {
    // UNIQUE through the primary key: a block can be stored once only.
    t.bigInteger('number').primary();
    t.binary('header_hash').notNullable();
    t.binary('previous_hash').notNullable();
    t.binary('data_hash').notNullable();
    t.integer('tx_count').notNullable();
    t.integer('valid_tx_count').notNullable();
    t.timestamp('indexed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('transactions', (t) => {
    t.bigInteger('block_number').notNullable().references('number').inTable('blocks');
    t.integer('tx_index').notNullable();
    t.text('tx_id').notNullable();
    t.text('header_type').notNullable();
    t.smallint('validation_code').notNullable();
    t.text('validation_code_name').notNullable();
    t.boolean('valid').notNullable();
    t.text('creator_msp');
    t.text('creator_id');
    t.text('creator_cert_sha256');
    t.timestamp('timestamp', { useTz: true });
    t.text('chaincode');
    t.text('function');
    t.primary(['block_number', 'tx_index']);
    t.index(['creator_msp', 'timestamp']);
    t.index(['chaincode', 'function']);
    t.index(['timestamp']);
  });
  // A transaction id is unique on the ledger. Fabric itself records a replayed envelope again,
  // marked DUPLICATE_TXID, and config transactions may carry no id: those rows are the only ones
  // outside the constraint, so any other repeat is refused by Postgres. (The code here is wrong:
  // DUPLICATE_TXID is 9, not 2; migration 005 replaces this index. Released migrations stay as
  // they were.)
  await knex.raw(`CREATE UNIQUE INDEX transactions_tx_id_unique ON transactions (tx_id) WHERE tx_id <> '' AND validation_code <> 2`);
  await knex.raw(`CREATE INDEX transactions_tx_id ON transactions (tx_id)`);
  await knex.raw(`CREATE INDEX transactions_invalid ON transactions (block_number) WHERE NOT valid`);

  await knex.schema.createTable('events', (t) => {
    t.bigInteger('block_number').notNullable();
    t.integer('tx_index').notNullable();
    t.integer('event_index').notNullable();
    t.text('tx_id').notNullable();
    t.boolean('valid').notNullable();
    t.text('chaincode_id').notNullable();
    t.text('name').notNullable();
    t.binary('payload').notNullable();
    t.primary(['block_number', 'tx_index', 'event_index']);
    t.foreign(['block_number', 'tx_index']).references(['block_number', 'tx_index']).inTable('transactions');
    t.index(['name', 'block_number']);
    t.index(['tx_id']);
  });

  await knex.schema.createTable('writes', (t) => {
    t.bigInteger('block_number').notNullable();
    t.integer('tx_index').notNullable();
    t.integer('write_index').notNullable();
    t.text('namespace').notNullable();
    // null: public state; otherwise the private data collection (hashes only).
    t.text('collection');
    // Exact key bytes (composite keys contain U+0000, which a text column cannot hold);
    // for private data the key hash.
    t.binary('key').notNullable();
    t.boolean('is_delete').notNullable();
    t.boolean('is_purge').notNullable();
    t.binary('value');
    t.binary('value_hash');
    t.primary(['block_number', 'tx_index', 'write_index']);
    t.foreign(['block_number', 'tx_index']).references(['block_number', 'tx_index']).inTable('transactions');
    t.index(['namespace', 'key']);
  });

  await knex.schema.createTable('checkpoint', (t) => {
    // One row only (id = 1): the last block whose rows are committed. Kept in Postgres so that the
    // rows and the checkpoint can never disagree.
    t.smallint('id').primary();
    t.bigInteger('last_block').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('ALTER TABLE checkpoint ADD CONSTRAINT checkpoint_single_row CHECK (id = 1)');
  await knex('checkpoint').insert({ id: 1, last_block: -1 });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['checkpoint', 'writes', 'events', 'transactions', 'blocks']) await knex.schema.dropTableIfExists(table);
}
