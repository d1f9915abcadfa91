/**
 * Regulator queries at a million permits (issue 18, point 6). Before this, the KPIs grouped the
 * whole permits table on every request (seconds at 1,000,000 rows), and a state filter, the area
 * plan and two sort orders scanned it too.
 *
 * - `permit_counts`: permits per enterprise, site, operation type and recorded status, kept by a
 *   trigger on `permits` in the transaction that writes the row, so the KPIs read a few thousand
 *   counters instead of every permit. The status there is the recorded one: the gateway moves the
 *   permits that read as expired (validity ended, permit:Expire not recorded yet) with the partial
 *   index below, which holds only permits whose clock still runs.
 * - `permits_running_end_index`: the end of validity of permits in a status that can still expire;
 *   what reads as active now, or as expired without permit:Expire, is a range of it.
 * - Indexes for the listings sorted by status change and by validity, and for violations by time.
 */
import type { Knex } from 'knex';

export const name = '010-regulator-query-scale';

/** Frozen here as of this migration (schema's EXPIRABLE_PERMIT_STATUSES may grow later; a new migration then rebuilds the index). */
const EXPIRABLE = ['applied', 'risk_assessed', 'gas_tested', 'signing_off', 'signed_off', 'issued', 'briefed', 'active', 'suspended'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('permit_counts', (t) => {
    t.text('org_msp').notNullable();
    t.text('site_id').notNullable();
    t.text('operation_type').notNullable();
    t.text('status').notNullable();
    t.bigInteger('n').notNullable();
    t.primary(['org_msp', 'site_id', 'operation_type', 'status']);
  });
  // Row-level: the indexer's multi-row upserts update some rows and insert others in one statement.
  await knex.raw(`
    CREATE FUNCTION permit_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.org_msp = NEW.org_msp AND OLD.site_id = NEW.site_id
         AND OLD.operation_type = NEW.operation_type AND OLD.status = NEW.status THEN
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE permit_counts SET n = n - 1
         WHERE org_msp = OLD.org_msp AND site_id = OLD.site_id AND operation_type = OLD.operation_type AND status = OLD.status;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO permit_counts (org_msp, site_id, operation_type, status, n) VALUES (NEW.org_msp, NEW.site_id, NEW.operation_type, NEW.status, 1)
          ON CONFLICT (org_msp, site_id, operation_type, status) DO UPDATE SET n = permit_counts.n + 1;
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER permit_counts_apply AFTER INSERT OR UPDATE OR DELETE ON permits FOR EACH ROW EXECUTE FUNCTION permit_counts_apply()`);
  await knex.raw(`INSERT INTO permit_counts (org_msp, site_id, operation_type, status, n)
                  SELECT org_msp, site_id, operation_type, status, count(*) FROM permits GROUP BY 1, 2, 3, 4`);
  await knex.raw(
    `CREATE INDEX permits_running_end_index ON permits ((coalesce(valid_until, planned_end)))
      WHERE status IN (${EXPIRABLE.map((s) => `'${s}'`).join(', ')})`,
  );
  await knex.schema.alterTable('permits', (t) => {
    t.index(['status_changed_at'], 'permits_status_changed_at_index');
  });
  // The listing's order (valid_until DESC, permit_no ASC) in full: permits not issued yet share a
  // null valid_until, which an index of valid_until alone would leave to a sort.
  await knex.raw('CREATE INDEX permits_valid_until_index ON permits (valid_until DESC, permit_no)');
  await knex.raw(`CREATE INDEX permits_violation_index ON permits (status_changed_at) WHERE suspension_reason = 'violation'`);
  await knex.schema.alterTable('investigation_flags', (t) => {
    t.index(['at'], 'investigation_flags_at_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('investigation_flags', (t) => {
    t.dropIndex(['at'], 'investigation_flags_at_index');
  });
  await knex.raw('DROP INDEX permits_violation_index');
  await knex.raw('DROP INDEX permits_valid_until_index');
  await knex.schema.alterTable('permits', (t) => {
    t.dropIndex(['status_changed_at'], 'permits_status_changed_at_index');
  });
  await knex.raw('DROP INDEX permits_running_end_index');
  await knex.raw('DROP TRIGGER permit_counts_apply ON permits');
  await knex.raw('DROP FUNCTION permit_counts_apply()');
  await knex.schema.dropTable('permit_counts');
}
