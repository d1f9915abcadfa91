/** Invalid transactions whose envelope could not be read completely keep the reason here. */
import type { Knex } from 'knex';

export const name = '006-transaction-parse-error';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('transactions', (t) => {
    t.text('parse_error');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('transactions', (t) => {
    t.dropColumn('parse_error');
  });
}
