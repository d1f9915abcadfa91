/**
 * Gas test ids, investigation flag ids and gate check ids are unique only within their permit (and
 * worker), exactly as the chaincode keys them (`flag~permit~id`, `gatecheck~permit~worker~id`, a
 * permit's gasTests array). Keying them globally lost rows when two permits reused an id such as
 * `gt-1`, which real chaincode transactions do.
 */
import type { Knex } from 'knex';

export const name = '004-per-permit-keys';

const keys: Record<string, { before: string[]; after: string[] }> = {
  gas_tests: { before: ['test_id'], after: ['permit_no', 'test_id'] },
  investigation_flags: { before: ['flag_id'], after: ['permit_no', 'flag_id'] },
  gate_checks: { before: ['gate_check_id'], after: ['permit_no', 'worker_id', 'gate_check_id'] },
};

export async function up(knex: Knex): Promise<void> {
  for (const [table, k] of Object.entries(keys)) {
    await knex.schema.alterTable(table, (t) => {
      t.dropPrimary();
      t.primary(k.after);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const [table, k] of Object.entries(keys)) {
    await knex.schema.alterTable(table, (t) => {
      t.dropPrimary();
      t.primary(k.before);
    });
  }
}
