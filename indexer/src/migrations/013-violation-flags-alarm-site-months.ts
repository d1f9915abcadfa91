/**
 * The regulator's violation and per-site alarm figures at a million permits without joins over
 * the window (issue 18, point 6).
 *
 * - `violation_flags`: each investigation flag with its permit's enterprise, site, area and work
 *   unit, the attributes every violation figure groups by (KPIs' repeat-violation rate and trend,
 *   the risk map's cells and work units). Read before through a join probing the permit of every
 *   flag of the window (a year: about 2,600 probes, for a page of 100 sites too); now one range of
 *   an index. Kept by triggers on both sides in the indexer's own transaction: a flag whose permit
 *   is not indexed has no row (as the inner join had none) until the permit arrives, and a permit
 *   whose enterprise, site, area or work unit changes rewrites its flags' rows. Replays that
 *   rewrite a permit unchanged fire nothing (the update trigger's WHEN).
 * - `alarm_site_months`: alarms per recording enterprise, site and rollup month (the month of
 *   `rollup_day`, migration 011), with how many were acknowledged and the sum of their response
 *   times: the KPIs' per-enterprise and per-site alarms over whole months of the window; the
 *   window's edges are read from `alarms`. A per-site day rollup would be as large as the alarms
 *   (one or two a site a day); a month holds about 4,000 alarms in a thousand rows.
 * - `permit_site_months`: permits per enterprise, site and rollup month of application (the
 *   monthly report's per-site list of the whole park: a month is about 43,000 permits).
 * - `permit_type_counts`: permits per operation type and recorded status (the KPIs' permits by
 *   type and state for the whole park, summed before from every enterprise's and site's
 *   `permit_counts`, some 5,000 rows).
 * - `alarms_site_index` covers the response time too (the window edges' per-site figures).
 */
import type { Knex } from 'knex';
import { type Counter, counters } from './011-regulator-rollups.js';

export const name = '013-violation-flags-alarm-site-months';

/**
 * `counters` (011) calls its PL/pgSQL function on every update and lets it find nothing changed;
 * the indexer rewrites a permit's row on every event. Here an update fires the function only when
 * a column its counter reads changed (the trigger's WHEN, evaluated without calling PL/pgSQL).
 */
export async function onlyWhenChanged(knex: Knex, table: string, source: string, columns: readonly string[]): Promise<void> {
  await knex.raw(`DROP TRIGGER ${table}_apply ON ${source}`);
  await knex.raw(`CREATE TRIGGER ${table}_apply AFTER INSERT OR DELETE ON ${source} FOR EACH ROW EXECUTE FUNCTION ${table}_apply()`);
  const changed = columns.map((c) => `OLD.${c} IS DISTINCT FROM NEW.${c}`).join(' OR ');
  await knex.raw(`CREATE TRIGGER ${table}_apply_changed AFTER UPDATE ON ${source} FOR EACH ROW WHEN (${changed}) EXECUTE FUNCTION ${table}_apply()`);
}

/** For each counter whose function an update calls only when one of these columns changed (`onlyWhenChanged`). */
export const CHANGED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  alarm_site_months: ['recorded_at', 'recorded_by_msp', 'site_id', 'response_ms'],
  permit_site_months: ['applied_at', 'org_msp', 'site_id'],
  permit_type_counts: ['operation_type', 'status'],
};

/** The permit columns a flag's row copies. */
export const PERMIT_COLUMNS = ['org_msp', 'site_id', 'zone_id', 'work_unit'];

export const ALARM_SITE_MONTHS: Counter = {
  table: 'alarm_site_months',
  source: 'alarms',
  key: { month: `date_trunc('month', rollup_day(#.recorded_at))::date`, org_msp: '#.recorded_by_msp', site_id: '#.site_id' },
  values: { n: '1', responded: '(#.response_ms IS NOT NULL)::int', response_ms: 'coalesce(#.response_ms, 0)' },
};
export const PERMIT_SITE_MONTHS: Counter = {
  table: 'permit_site_months',
  source: 'permits',
  key: { month: `date_trunc('month', rollup_day(#.applied_at))::date`, org_msp: '#.org_msp', site_id: '#.site_id' },
  values: { n: '1' },
};
export const PERMIT_TYPE_COUNTS: Counter = {
  table: 'permit_type_counts',
  source: 'permits',
  key: { operation_type: '#.operation_type', status: '#.status' },
  values: { n: '1' },
};

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('violation_flags', (t) => {
    // A flag's id is chosen by the regulator and unique only within its permit (migration 004).
    t.text('permit_no').notNullable();
    t.text('flag_id').notNullable();
    t.timestamp('at', { useTz: true }).notNullable();
    t.text('org_msp').notNullable();
    t.text('site_id').notNullable();
    t.text('zone_id').notNullable();
    t.text('work_unit').notNullable();
    t.primary(['permit_no', 'flag_id']);
  });
  // The window's flags (KPIs, work units) and a page of sites' flags (risk map), each by its index alone.
  await knex.raw('CREATE INDEX violation_flags_at_index ON violation_flags (at) INCLUDE (work_unit, org_msp, site_id, zone_id)');
  await knex.raw('CREATE INDEX violation_flags_site_index ON violation_flags (site_id, at) INCLUDE (zone_id, org_msp)');
  const copy = PERMIT_COLUMNS.map((c) => `p.${c}`).join(', ');
  await knex.raw(`
    CREATE FUNCTION violation_flags_of_flag() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.flag_id = NEW.flag_id AND OLD.permit_no = NEW.permit_no AND OLD.at = NEW.at THEN
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM violation_flags WHERE permit_no = OLD.permit_no AND flag_id = OLD.flag_id;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO violation_flags (flag_id, permit_no, at, ${PERMIT_COLUMNS.join(', ')})
          SELECT NEW.flag_id, NEW.permit_no, NEW.at, ${copy} FROM permits p WHERE p.permit_no = NEW.permit_no;
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER violation_flags_of_flag AFTER INSERT OR UPDATE OR DELETE ON investigation_flags
                    FOR EACH ROW EXECUTE FUNCTION violation_flags_of_flag()`);
  await knex.raw(`
    CREATE FUNCTION violation_flags_of_permit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM violation_flags WHERE permit_no = OLD.permit_no;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO violation_flags (flag_id, permit_no, at, ${PERMIT_COLUMNS.join(', ')})
          SELECT f.flag_id, f.permit_no, f.at, ${PERMIT_COLUMNS.map((c) => `NEW.${c}`).join(', ')} FROM investigation_flags f WHERE f.permit_no = NEW.permit_no;
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER violation_flags_of_new_permit AFTER INSERT OR DELETE ON permits
                    FOR EACH ROW EXECUTE FUNCTION violation_flags_of_permit()`);
  // Evaluated without calling the function: the indexer rewrites a permit's row on every event.
  const changed = ['permit_no', ...PERMIT_COLUMNS].map((c) => `OLD.${c} IS DISTINCT FROM NEW.${c}`).join(' OR ');
  await knex.raw(`CREATE TRIGGER violation_flags_of_changed_permit AFTER UPDATE ON permits
                    FOR EACH ROW WHEN (${changed}) EXECUTE FUNCTION violation_flags_of_permit()`);
  await knex.raw(`INSERT INTO violation_flags (flag_id, permit_no, at, ${PERMIT_COLUMNS.join(', ')})
                    SELECT f.flag_id, f.permit_no, f.at, ${copy} FROM investigation_flags f JOIN permits p USING (permit_no)`);

  await knex.schema.createTable('alarm_site_months', (t) => {
    t.date('month').notNullable();
    t.text('org_msp').notNullable();
    t.text('site_id').notNullable();
    t.bigInteger('n').notNullable();
    t.bigInteger('responded').notNullable();
    t.bigInteger('response_ms').notNullable();
    t.primary(['month', 'org_msp', 'site_id']);
    t.index(['site_id', 'month'], 'alarm_site_months_site_index');
  });
  await counters(knex, ALARM_SITE_MONTHS);
  await onlyWhenChanged(knex, 'alarm_site_months', 'alarms', CHANGED_COLUMNS.alarm_site_months!);

  await knex.schema.createTable('permit_site_months', (t) => {
    t.date('month').notNullable();
    t.text('org_msp').notNullable();
    t.text('site_id').notNullable();
    t.bigInteger('n').notNullable();
    t.primary(['month', 'org_msp', 'site_id']);
  });
  await counters(knex, PERMIT_SITE_MONTHS);
  await onlyWhenChanged(knex, 'permit_site_months', 'permits', CHANGED_COLUMNS.permit_site_months!);
  await knex.schema.createTable('permit_type_counts', (t) => {
    t.text('operation_type').notNullable();
    t.text('status').notNullable();
    t.bigInteger('n').notNullable();
    t.primary(['operation_type', 'status']);
  });
  await counters(knex, PERMIT_TYPE_COUNTS);
  await onlyWhenChanged(knex, 'permit_type_counts', 'permits', CHANGED_COLUMNS.permit_type_counts!);

  await knex.raw('DROP INDEX alarms_site_index');
  await knex.raw('CREATE INDEX alarms_site_index ON alarms (site_id, recorded_at) INCLUDE (area_id, recorded_by_msp, response_ms)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX alarms_site_index');
  await knex.raw('CREATE INDEX alarms_site_index ON alarms (site_id, recorded_at) INCLUDE (area_id, recorded_by_msp)');
  for (const table of ['permit_type_counts', 'permit_site_months']) {
    await knex.raw(`DROP TRIGGER ${table}_apply_changed ON permits`);
    await knex.raw(`DROP TRIGGER ${table}_apply ON permits`);
    await knex.raw(`DROP FUNCTION ${table}_apply()`);
    await knex.schema.dropTable(table);
  }
  await knex.raw('DROP TRIGGER alarm_site_months_apply_changed ON alarms');
  await knex.raw('DROP TRIGGER alarm_site_months_apply ON alarms');
  await knex.raw('DROP FUNCTION alarm_site_months_apply()');
  await knex.schema.dropTable('alarm_site_months');
  await knex.raw('DROP TRIGGER violation_flags_of_changed_permit ON permits');
  await knex.raw('DROP TRIGGER violation_flags_of_new_permit ON permits');
  await knex.raw('DROP FUNCTION violation_flags_of_permit()');
  await knex.raw('DROP TRIGGER violation_flags_of_flag ON investigation_flags');
  await knex.raw('DROP FUNCTION violation_flags_of_flag()');
  await knex.schema.dropTable('violation_flags');
}
