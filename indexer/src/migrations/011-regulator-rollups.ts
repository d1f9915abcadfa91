/**
 * Per-day rollups and alarm indexes for the regulator's whole-park figures at a million permits
 * (issue 18, point 6).
 *
 * - `permit_days`: permits per day of application, operation type, level and recorded status;
 *   `alarm_days`: alarms per day of recording and grade, with how many were acknowledged and the
 *   sum of their response times; `alarm_response_days`: acknowledged alarms per day and response
 *   time bucket (a histogram for the p90). Kept by triggers in the transaction that writes the row, like
 *   `permit_counts` (migration 010), so a replayed block that rewrites a row unchanged changes no
 *   counter, and a permit that changes status or an alarm acknowledged moves its unit from one
 *   counter to the other. They hold no enterprise or site: at the park's rate (about one permit
 *   a minute over a thousand sites) a per-site, per-day counter holds one or two permits, so it
 *   would be as large as the table; scoped and per-site figures read the base tables through the
 *   indexes below.
 * - A rollup day starts at 00:00 UTC+8 (`rollup_day`, `rollup_day_start`): the days and months of
 *   the regulator's default time zone (Asia/Shanghai, no daylight saving) are whole rollup days. A
 *   window that does not start or end on such a midnight is completed from the base tables.
 * - Alarm indexes: newest first (the listing's order), the alarms not closed (few at any time),
 *   by device and time (an enterprise's alarms are its devices'), by site and time, a covering
 *   index of the window's per-site figures, and the acknowledged alarms by response time bucket
 *   and time, so the p90 reads only its bucket's alarms of the window.
 * - Permits by enterprise or site and time of application, for scoped monthly reports; valid
 *   certificates by review date and by expiry, for the KPIs.
 */
import type { Knex } from 'knex';

export const name = '011-regulator-rollups';

/** Minutes east of UTC at which a rollup day begins; frozen here (a change needs a migration that rebuilds the rollups). */
const DAY_START_OFFSET_MINUTES = 480;

export async function up(knex: Knex): Promise<void> {
  // Explicit 'UTC' conversions: the result does not depend on the session's TimeZone, so IMMUTABLE holds.
  await knex.raw(`CREATE FUNCTION rollup_day(at timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE
                    AS $$ SELECT ((at AT TIME ZONE 'UTC') + interval '${DAY_START_OFFSET_MINUTES} minutes')::date $$`);
  await knex.raw(`CREATE FUNCTION rollup_day_start(day date) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
                    AS $$ SELECT (day - interval '${DAY_START_OFFSET_MINUTES} minutes') AT TIME ZONE 'UTC' $$`);

  await knex.schema.createTable('permit_days', (t) => {
    t.date('day').notNullable();
    t.text('operation_type').notNullable();
    t.text('level').notNullable();
    t.text('status').notNullable();
    t.bigInteger('n').notNullable();
    t.primary(['day', 'operation_type', 'level', 'status']);
  });
  await counters(knex, PERMIT_DAYS);

  await knex.schema.createTable('alarm_days', (t) => {
    t.date('day').notNullable();
    t.smallint('grade').notNullable();
    t.bigInteger('n').notNullable();
    /** Alarms acknowledged (with a response time), and the sum of their response times. */
    t.bigInteger('responded').notNullable();
    t.bigInteger('response_ms').notNullable();
    t.primary(['day', 'grade']);
  });
  await counters(knex, ALARM_DAYS);

  // A response time's bucket: four per doubling (0–1 ms in the first). Monotonic, so the buckets
  // in order hold the response times in order: a window's p90 is found in the histogram, then read
  // exactly among that bucket's alarms of the window (alarms_response_bucket_index).
  await knex.raw(`CREATE FUNCTION alarm_response_bucket(ms bigint) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
                    AS $$ SELECT floor(log(2.0, greatest(ms, 1)::numeric) * 4)::int $$`);
  await knex.schema.createTable('alarm_response_days', (t) => {
    t.date('day').notNullable();
    t.integer('bucket').notNullable();
    t.bigInteger('n').notNullable();
    t.primary(['day', 'bucket']);
  });
  await counters(knex, ALARM_RESPONSE_DAYS);
  await knex.raw(`CREATE INDEX alarms_response_bucket_index ON alarms (alarm_response_bucket(response_ms), recorded_at) INCLUDE (response_ms)
                    WHERE response_ms IS NOT NULL`);

  // The listing's order; with the response time, its capped statistics read the index alone.
  await knex.raw('CREATE INDEX alarms_recorded_at_index ON alarms (recorded_at DESC, alarm_id) INCLUDE (response_ms)');
  await knex.raw(`CREATE INDEX alarms_open_index ON alarms (recorded_at DESC, alarm_id) WHERE status <> 'closed'`);
  await knex.raw('CREATE INDEX alarms_device_index ON alarms (device_id, recorded_at)');
  await knex.raw('CREATE INDEX alarms_site_index ON alarms (site_id, recorded_at)');
  // The window's figures per site and area (KPIs by site, the risk map, the report's sites) without reading the alarms' rows.
  await knex.raw('CREATE INDEX alarms_window_index ON alarms (recorded_at) INCLUDE (site_id, area_id, recorded_by_msp, device_id, grade, response_ms)');
  // Valid certificates by review date and by expiry (the KPIs' overdue and expiring figures, the expiring list).
  await knex.raw(`CREATE INDEX certificates_valid_review_index ON certificates (review_due) WHERE status = 'valid'`);
  await knex.raw(`CREATE INDEX certificates_valid_until_index ON certificates (valid_until) WHERE status = 'valid'`);
  await knex.raw('CREATE INDEX permits_org_applied_index ON permits (org_msp, applied_at)');
  await knex.raw('CREATE INDEX permits_site_applied_index ON permits (site_id, applied_at)');
}

/**
 * A counter table kept from a source table: its key and summed values as expressions of a source
 * row (`#` stands for it), counting only the rows `where` holds.
 */
export interface Counter {
  table: string;
  source: string;
  key: Record<string, string>;
  values: Record<string, string>;
  where?: string;
}

export const PERMIT_DAYS: Counter = {
  table: 'permit_days',
  source: 'permits',
  key: { day: 'rollup_day(#.applied_at)', operation_type: '#.operation_type', level: '#.level', status: '#.status' },
  values: { n: '1' },
};
export const ALARM_DAYS: Counter = {
  table: 'alarm_days',
  source: 'alarms',
  key: { day: 'rollup_day(#.recorded_at)', grade: '#.grade' },
  values: { n: '1', responded: '(#.response_ms IS NOT NULL)::int', response_ms: 'coalesce(#.response_ms, 0)' },
};
export const ALARM_RESPONSE_DAYS: Counter = {
  table: 'alarm_response_days',
  source: 'alarms',
  key: { day: 'rollup_day(#.recorded_at)', bucket: 'alarm_response_bucket(#.response_ms)' },
  values: { n: '1' },
  where: '#.response_ms IS NOT NULL',
};

/**
 * Counters in `table` of the rows of `source`: `key` and `values` are expressions over a row (`#`
 * stands for it). A row trigger, in the transaction that writes the row, takes an old row's
 * values off its key's counters and adds a new row's to its own; an update that changes no
 * column the expressions read changes nothing (a replayed row). The counters start from the
 * rows already there. Deleting the trigger and function is left to `down`.
 */
export async function counters(knex: Knex, c: Counter): Promise<void> {
  const expr = (e: string, row: string) => e.replaceAll('#', row);
  const read = [...new Set([...Object.values(c.key), ...Object.values(c.values), c.where ?? ''].join(' ').match(/#\.\w+/g) ?? [])];
  const unchanged = read.map((col) => `${expr(col, 'OLD')} IS NOT DISTINCT FROM ${expr(col, 'NEW')}`).join(' AND ');
  const keys = Object.keys(c.key);
  const values = Object.keys(c.values);
  const of = (m: Record<string, string>, row: string) => Object.values(m).map((e) => expr(e, row));
  const when = (row: string) => (c.where ? `AND ${expr(c.where, row)}` : '');
  await knex.raw(`
    CREATE FUNCTION ${c.table}_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND ${unchanged} THEN
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') ${when('OLD')} THEN
        UPDATE ${c.table} SET ${values.map((v, i) => `${v} = ${v} - ${of(c.values, 'OLD')[i]}`).join(', ')}
         WHERE ${keys.map((k, i) => `${k} = ${of(c.key, 'OLD')[i]}`).join(' AND ')};
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') ${when('NEW')} THEN
        INSERT INTO ${c.table} (${[...keys, ...values].join(', ')}) VALUES (${[...of(c.key, 'NEW'), ...of(c.values, 'NEW')].join(', ')})
          ON CONFLICT (${keys.join(', ')}) DO UPDATE SET ${values.map((v) => `${v} = ${c.table}.${v} + excluded.${v}`).join(', ')};
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER ${c.table}_apply AFTER INSERT OR UPDATE OR DELETE ON ${c.source} FOR EACH ROW EXECUTE FUNCTION ${c.table}_apply()`);
  await knex.raw(`INSERT INTO ${c.table} (${[...keys, ...values].join(', ')})
                  SELECT ${[...of(c.key, c.source), ...of(c.values, c.source).map((v) => `sum(${v})`)].join(', ')} FROM ${c.source}
                   WHERE ${c.where ? expr(c.where, c.source) : 'TRUE'} GROUP BY ${keys.map((_, i) => i + 1).join(', ')}`);
}

export async function down(knex: Knex): Promise<void> {
  for (const index of [
    'certificates_valid_until_index',
    'certificates_valid_review_index',
    'permits_site_applied_index',
    'permits_org_applied_index',
    'alarms_window_index',
    'alarms_site_index',
    'alarms_device_index',
    'alarms_open_index',
    'alarms_recorded_at_index',
    'alarms_response_bucket_index',
  ]) {
    await knex.raw(`DROP INDEX ${index}`);
  }
  await knex.raw('DROP TRIGGER alarm_response_days_apply ON alarms');
  await knex.raw('DROP FUNCTION alarm_response_days_apply()');
  await knex.schema.dropTable('alarm_response_days');
  await knex.raw('DROP FUNCTION alarm_response_bucket(bigint)');
  await knex.raw('DROP TRIGGER alarm_days_apply ON alarms');
  await knex.raw('DROP FUNCTION alarm_days_apply()');
  await knex.schema.dropTable('alarm_days');
  await knex.raw('DROP TRIGGER permit_days_apply ON permits');
  await knex.raw('DROP FUNCTION permit_days_apply()');
  await knex.schema.dropTable('permit_days');
  await knex.raw('DROP FUNCTION rollup_day_start(date)');
  await knex.raw('DROP FUNCTION rollup_day(timestamptz)');
}
