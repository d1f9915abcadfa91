/**
 * Gate checks signed by the gate device keep the face-match score on the device (only its hash is
 * on the ledger), so the score may be absent; the device's signer, whether the gate was offline and
 * whether it disagreed with the ledger's own check are what regulators look for.
 */
import type { Knex } from 'knex';

export const name = '008-gate-check-device';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('gate_checks', (t) => {
    t.integer('face_score_bp').nullable().alter();
    t.text('device_signer').nullable();
    t.boolean('offline').nullable();
    t.boolean('disagreement').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('gate_checks', (t) => {
    t.dropColumn('disagreement');
    t.dropColumn('offline');
    t.dropColumn('device_signer');
  });
}
