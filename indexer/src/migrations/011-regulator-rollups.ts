/**
 * Per-day rollups and alarm indexes for the regulator's whole-park figures at a million permits
 * (issue 18, point 6).
 *
 * - `permit_days`: permits per day of application, operation type, level and recorded status;
 *   `alarm_days`: alarms per day of recording and grade, with how many were acknowledged and the
 *   sum of their response times. Kept by triggers in the transaction that writes the row, like
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
 *   by device and time (an enterprise's alarms are its devices'), and the acknowledged alarms by
 *   time with their response time, so a window's p90 reads only that window's responses.
 * - Permits by enterprise or site and time of application, for scoped monthly reports.
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
  await knex.raw(`
    CREATE FUNCTION permit_days_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.applied_at = NEW.applied_at AND OLD.operation_type = NEW.operation_type
         AND OLD.level = NEW.level AND OLD.status = NEW.status THEN
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE permit_days SET n = n - 1
         WHERE day = rollup_day(OLD.applied_at) AND operation_type = OLD.operation_type AND level = OLD.level AND status = OLD.status;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO permit_days (day, operation_type, level, status, n) VALUES (rollup_day(NEW.applied_at), NEW.operation_type, NEW.level, NEW.status, 1)
          ON CONFLICT (day, operation_type, level, status) DO UPDATE SET n = permit_days.n + 1;
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER permit_days_apply AFTER INSERT OR UPDATE OR DELETE ON permits FOR EACH ROW EXECUTE FUNCTION permit_days_apply()`);
  await knex.raw(`INSERT INTO permit_days (day, operation_type, level, status, n)
                  SELECT rollup_day(applied_at), operation_type, level, status, count(*) FROM permits GROUP BY 1, 2, 3, 4`);

  await knex.schema.createTable('alarm_days', (t) => {
    t.date('day').notNullable();
    t.smallint('grade').notNullable();
    t.bigInteger('n').notNullable();
    /** Alarms acknowledged (with a response time), and the sum of their response times. */
    t.bigInteger('responded').notNullable();
    t.bigInteger('response_ms').notNullable();
    t.primary(['day', 'grade']);
  });
  await knex.raw(`
    CREATE FUNCTION alarm_days_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.recorded_at = NEW.recorded_at AND OLD.grade = NEW.grade
         AND OLD.response_ms IS NOT DISTINCT FROM NEW.response_ms THEN
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE alarm_days SET n = n - 1, responded = responded - (OLD.response_ms IS NOT NULL)::int, response_ms = response_ms - coalesce(OLD.response_ms, 0)
         WHERE day = rollup_day(OLD.recorded_at) AND grade = OLD.grade;
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO alarm_days (day, grade, n, responded, response_ms)
          VALUES (rollup_day(NEW.recorded_at), NEW.grade, 1, (NEW.response_ms IS NOT NULL)::int, coalesce(NEW.response_ms, 0))
          ON CONFLICT (day, grade) DO UPDATE SET n = alarm_days.n + 1, responded = alarm_days.responded + excluded.responded,
                                                 response_ms = alarm_days.response_ms + excluded.response_ms;
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER alarm_days_apply AFTER INSERT OR UPDATE OR DELETE ON alarms FOR EACH ROW EXECUTE FUNCTION alarm_days_apply()`);
  await knex.raw(`INSERT INTO alarm_days (day, grade, n, responded, response_ms)
                  SELECT rollup_day(recorded_at), grade, count(*), count(response_ms), coalesce(sum(response_ms), 0) FROM alarms GROUP BY 1, 2`);

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
  await knex.raw(`
    CREATE FUNCTION alarm_response_days_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.recorded_at = NEW.recorded_at AND OLD.response_ms IS NOT DISTINCT FROM NEW.response_ms THEN
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.response_ms IS NOT NULL THEN
        UPDATE alarm_response_days SET n = n - 1 WHERE day = rollup_day(OLD.recorded_at) AND bucket = alarm_response_bucket(OLD.response_ms);
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.response_ms IS NOT NULL THEN
        INSERT INTO alarm_response_days (day, bucket, n) VALUES (rollup_day(NEW.recorded_at), alarm_response_bucket(NEW.response_ms), 1)
          ON CONFLICT (day, bucket) DO UPDATE SET n = alarm_response_days.n + 1;
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(
    `CREATE TRIGGER alarm_response_days_apply AFTER INSERT OR UPDATE OR DELETE ON alarms FOR EACH ROW EXECUTE FUNCTION alarm_response_days_apply()`,
  );
  await knex.raw(`INSERT INTO alarm_response_days (day, bucket, n)
                  SELECT rollup_day(recorded_at), alarm_response_bucket(response_ms), count(*) FROM alarms WHERE response_ms IS NOT NULL GROUP BY 1, 2`);
  await knex.raw(`CREATE INDEX alarms_response_bucket_index ON alarms (alarm_response_bucket(response_ms), recorded_at) INCLUDE (response_ms)
                    WHERE response_ms IS NOT NULL`);

  await knex.raw('CREATE INDEX alarms_recorded_at_index ON alarms (recorded_at DESC, alarm_id)');
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
