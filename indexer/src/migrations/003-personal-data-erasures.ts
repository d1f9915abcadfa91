/**
 * PIPL erasures: which subject's private data was purged, when, by which org. The reason and the
 * collection are recorded; no personal field is (the event carries none).
 */
import type { Knex } from 'knex';

export const name = '003-personal-data-erasures';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('personal_data_erasures', (t) => {
    t.text('tx_id').notNullable();
    t.text('subject_kind').notNullable();
    t.text('subject_id').notNullable();
    t.text('collection').notNullable();
    t.text('reason').notNullable();
    t.text('erased_by_msp').notNullable();
    t.text('erased_by_role').notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.bigInteger('block_number').notNullable();
    t.primary(['tx_id', 'subject_kind', 'subject_id']);
    t.index(['subject_kind', 'subject_id']);
    t.index(['erased_by_msp', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('personal_data_erasures');
}
