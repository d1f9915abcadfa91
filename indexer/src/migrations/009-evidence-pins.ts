/**
 * The regulator's copies of evidence: every CID the ledger records (evidence files, alarm clips),
 * pinned on the regulator's own IPFS node and unpinned by the retention sweeper once its period
 * has passed (src/evidence-pinner.ts). The ledger keeps the hash for good either way.
 */
import type { Knex } from 'knex';

export const name = '009-evidence-pins';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('evidence_pins', (t) => {
    t.text('cid').primary();
    /** `record`: kept for the six-year record; `video`: plain video, kept for the video period. */
    t.text('retention').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.timestamp('retain_until', { useTz: true }).notNullable();
    t.timestamp('pinned_at', { useTz: true });
    t.timestamp('unpinned_at', { useTz: true });
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.index(['pinned_at', 'unpinned_at']);
    t.index(['retain_until']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('evidence_pins');
}
