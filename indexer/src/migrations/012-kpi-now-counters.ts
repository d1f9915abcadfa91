/**
 * The KPIs' figures "now" for the whole park without reading every worker and certificate (issue
 * 18, point 6): training coverage, overdue reviews and certificates expiring within 60 days.
 *
 * They change only when a block changes a worker or a certificate, or when an instant passes (a
 * certificate's start, review date or expiry). So each is kept as instants counted per rollup day
 * (migration 011's days), by triggers in the indexer's own transaction like 010/011, and "now" is
 * the sum of the days before today plus the base rows of today's part up to now: exact, and a sum
 * over one row per day that holds any such instant instead of tens of thousands of rows.
 *
 * - `worker_coverage`: each active worker's covered spans, the union of their valid certificates'
 *   [valid_from, least(valid_until, review_due)) merged, so a worker covered by two certificates
 *   at once counts once: covered now = spans started by now − spans ended by now.
 *   `coverage_start_days` / `coverage_end_days` count the spans' starts and ends per day.
 * - `counted_certificates`: the valid certificates of workers in the index (the KPIs count a
 *   certificate with its worker); `certificate_review_days` / `certificate_expiry_days` count
 *   their review dates and expiries per day.
 * - `worker_counts`: active workers per enterprise.
 * - `alarms_site_index` again, covering the alarm's area and enterprise (the risk map's page).
 * - `permit_site_counts`: permits per enterprise and site, and how many of them are live by their
 *   recorded status (the KPIs' per-site breakdown groups about a thousand rows instead of every
 *   (site, type, status) counter of `permit_counts`; the gateway moves the few permits whose
 *   validity ended before permit:Expire was recorded, as it does for `permit_counts`).
 *
 * A worker's rows are rebuilt (`worker_coverage_refresh`) when one of its certificates or the
 * worker itself changes: a worker holds a few certificates; only rows that differ are deleted or
 * inserted, so a replayed block that rewrites them unchanged moves no counter. Enterprise-
 * scoped KPIs still read the base tables (an enterprise's workers are few).
 */
import type { Knex } from 'knex';
import { type Counter, counters } from './011-regulator-rollups.js';

export const name = '012-kpi-now-counters';

/** LIVE_PERMIT_STATUSES as of this migration (a change needs a migration that recounts). */
const LIVE_STATUSES = ['issued', 'briefed', 'active', 'suspended'];

/** The counter tables: name, source table, the instant counted. */
const DAYS: [string, string, string][] = [
  ['coverage_start_days', 'worker_coverage', 'starts_at'],
  ['coverage_end_days', 'worker_coverage', 'ends_at'],
  ['certificate_review_days', 'counted_certificates', 'review_due'],
  ['certificate_expiry_days', 'counted_certificates', 'valid_until'],
];

export const PERMIT_SITE_COUNTS: Counter = {
  table: 'permit_site_counts',
  source: 'permits',
  key: { org_msp: '#.org_msp', site_id: '#.site_id' },
  values: { n: '1', live: `(#.status IN (${LIVE_STATUSES.map((x) => `'${x}'`).join(', ')}))::int` },
};

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('worker_coverage', (t) => {
    t.text('worker_id').notNullable();
    t.timestamp('starts_at', { useTz: true }).notNullable();
    t.timestamp('ends_at', { useTz: true }).notNullable();
    t.primary(['worker_id', 'starts_at']);
    t.index(['starts_at'], 'worker_coverage_starts_index');
    t.index(['ends_at'], 'worker_coverage_ends_index');
  });
  await knex.schema.createTable('counted_certificates', (t) => {
    t.text('certificate_id').primary();
    t.text('worker_id').notNullable();
    t.timestamp('review_due', { useTz: true }).notNullable();
    t.timestamp('valid_until', { useTz: true }).notNullable();
    t.index(['worker_id'], 'counted_certificates_worker_index');
    t.index(['review_due'], 'counted_certificates_review_index');
    t.index(['valid_until'], 'counted_certificates_expiry_index');
  });
  for (const [table, source, col] of DAYS) {
    await knex.schema.createTable(table, (t) => {
      t.date('day').primary();
      t.bigInteger('n').notNullable();
    });
    await counters(knex, { table, source, key: { day: `rollup_day(#.${col})` }, values: { n: '1' } });
  }
  await knex.schema.createTable('worker_counts', (t) => {
    t.text('org_msp').primary();
    t.bigInteger('n').notNullable();
  });
  await counters(knex, {
    table: 'worker_counts',
    source: 'workers',
    key: { org_msp: '#.registered_by_msp' },
    values: { n: '1' },
    where: `#.status = 'active'`,
  });

  // The risk map's page of sites reads its sites' alarms of the window by this index alone.
  await knex.raw('DROP INDEX alarms_site_index');
  await knex.raw('CREATE INDEX alarms_site_index ON alarms (site_id, recorded_at) INCLUDE (area_id, recorded_by_msp)');

  await knex.schema.createTable('permit_site_counts', (t) => {
    t.text('org_msp').notNullable();
    t.text('site_id').notNullable();
    t.bigInteger('n').notNullable();
    t.bigInteger('live').notNullable();
    t.primary(['org_msp', 'site_id']);
  });
  await counters(knex, PERMIT_SITE_COUNTS);

  // Spans merged by gaps and islands: a certificate starts a new span only where no earlier one
  // (in start order) reaches it; [a, b) and [b, c) make one span [a, c). Only the rows that differ
  // from what the worker's certificates make now are deleted or inserted, so a certificate that
  // leaves the spans as they were (a replay, a second certificate inside a span) moves no counter.
  await knex.raw(`
    CREATE FUNCTION worker_coverage_refresh(w text) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
      known boolean := EXISTS (SELECT 1 FROM workers WHERE worker_id = w);
      active boolean := EXISTS (SELECT 1 FROM workers WHERE worker_id = w AND status = 'active');
      starts timestamptz[];
      ends timestamptz[];
    BEGIN
      DELETE FROM counted_certificates k WHERE k.worker_id = w AND NOT (known AND EXISTS (
        SELECT 1 FROM certificates c WHERE c.certificate_id = k.certificate_id AND c.worker_id = w AND c.status = 'valid'
           AND c.review_due = k.review_due AND c.valid_until = k.valid_until));
      IF known THEN
        INSERT INTO counted_certificates (certificate_id, worker_id, review_due, valid_until)
          SELECT certificate_id, worker_id, review_due, valid_until FROM certificates WHERE worker_id = w AND status = 'valid'
          ON CONFLICT (certificate_id) DO NOTHING;
      END IF;
      SELECT coalesce(array_agg(s ORDER BY s), '{}'), coalesce(array_agg(e ORDER BY s), '{}') INTO starts, ends FROM (
        SELECT min(s) AS s, max(e) AS e FROM (
          SELECT s, e, count(*) FILTER (WHERE reach IS NULL OR reach < s) OVER (ORDER BY s, e) AS span FROM (
            SELECT s, e, max(e) OVER (ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach FROM (
              SELECT valid_from AS s, least(valid_until, review_due) AS e FROM certificates
               WHERE active AND worker_id = w AND status = 'valid' AND valid_from < least(valid_until, review_due)) c) o) g
        GROUP BY span) spans;
      DELETE FROM worker_coverage v WHERE v.worker_id = w
        AND NOT EXISTS (SELECT 1 FROM unnest(starts, ends) AS t(s, e) WHERE t.s = v.starts_at AND t.e = v.ends_at);
      INSERT INTO worker_coverage (worker_id, starts_at, ends_at) SELECT w, s, e FROM unnest(starts, ends) AS t(s, e)
        ON CONFLICT (worker_id, starts_at) DO NOTHING;
    END $$`);
  await refreshOnChange(knex, 'certificates', ['worker_id', 'status', 'valid_from', 'valid_until', 'review_due']);
  await refreshOnChange(knex, 'workers', ['worker_id', 'status']);
  await knex.raw('SELECT worker_coverage_refresh(worker_id) FROM workers');
}

/**
 * A row trigger on `table` rebuilding the rows of the worker a row belonged to and belongs to,
 * unless an update changed none of `columns` (a replayed row).
 */
async function refreshOnChange(knex: Knex, table: string, columns: string[]): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION ${table}_coverage_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND ${columns.map((c) => `OLD.${c} = NEW.${c}`).join(' AND ')} THEN
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM worker_coverage_refresh(OLD.worker_id);
      END IF;
      IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.worker_id <> OLD.worker_id) THEN
        PERFORM worker_coverage_refresh(NEW.worker_id);
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER ${table}_coverage_apply AFTER INSERT OR UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_coverage_apply()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX alarms_site_index');
  await knex.raw('CREATE INDEX alarms_site_index ON alarms (site_id, recorded_at)');
  await knex.raw('DROP TRIGGER workers_coverage_apply ON workers');
  await knex.raw('DROP FUNCTION workers_coverage_apply()');
  await knex.raw('DROP TRIGGER certificates_coverage_apply ON certificates');
  await knex.raw('DROP FUNCTION certificates_coverage_apply()');
  await knex.raw('DROP FUNCTION worker_coverage_refresh(text)');
  await knex.raw('DROP TRIGGER permit_site_counts_apply ON permits');
  await knex.raw('DROP FUNCTION permit_site_counts_apply()');
  await knex.schema.dropTable('permit_site_counts');
  await knex.raw('DROP TRIGGER worker_counts_apply ON workers');
  await knex.raw('DROP FUNCTION worker_counts_apply()');
  await knex.schema.dropTable('worker_counts');
  for (const [table, source] of [...DAYS].reverse()) {
    await knex.raw(`DROP TRIGGER ${table}_apply ON ${source}`);
    await knex.raw(`DROP FUNCTION ${table}_apply()`);
    await knex.schema.dropTable(table);
  }
  await knex.schema.dropTable('counted_certificates');
  await knex.schema.dropTable('worker_coverage');
}
