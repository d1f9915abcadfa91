/**
 * The KPIs' alarms per recording enterprise and site over any window in a fixed number of rows per
 * site (issue 18, point 6: p99 ≤ 20 ms at 1,000,000 permits).
 *
 * Migration 013's `alarm_site_months` answer a window with a row per site and whole month inside it
 * (a year: 11,000 rows) plus every alarm of the two partial months at its edges (4,400), and
 * grouping them was most of the KPIs' time over a year. They stay for windows of one or two whole
 * months (the monthly report), which they answer with fewest rows. Here each site keeps running
 * totals as well:
 *
 * - `alarm_site_running_totals`: for each site and each rollup day (migration 011's days) from the
 *   site's first alarm to its last, the alarms recorded up to the end of that day, how many of
 *   them were acknowledged and the sum of their response times. Dense (a row for every day of the
 *   span, alarms or not), so the totals at one day for every site are one range of the primary
 *   key, not a search per site for its latest row before the day.
 * - `alarm_site_spans`: each site's first and last day and its totals: before the first day a
 *   site's running total is zero, after the last it is the site's total.
 *
 * The whole days of a window are then the totals at its last whole day less those at the day before
 * its first: two rows a site. Only the partial days at its edges are read from `alarms`.
 *
 * Kept by statement triggers with transition tables, in the indexer's own transaction like the
 * counters of migration 014: a statement's alarms are summed per site and day (new rows added, old
 * rows taken off, so a replayed row nets to zero and writes nothing); a site's span is extended with
 * rows carrying its totals forward (or zeros before its first day); then each changed day's sum is
 * added to that day's row and every later one of the site, in one pass of a running sum. An alarm
 * recorded today touches one row; an acknowledgement, the rows from its day to the site's last.
 *
 * Size: a row per site and day of its span: a thousand sites over six years, about 2.2 million rows
 * (the bench's 688,504 rows took 104 MB with their indexes).
 */
import type { Knex } from 'knex';
import { type ChangedRows, dropOnStatements, onStatements } from './014-statement-counters.js';

export const name = '015-alarm-site-running-totals';

const VALUES = ['n', 'responded', 'response_ms'] as const;

/** A statement's alarm rows as signed changes per enterprise, site and rollup day. */
const changesOf: ChangedRows = (table, sign) =>
  `SELECT r.recorded_by_msp AS org_msp, r.site_id, rollup_day(r.recorded_at) AS day, ${sign}1 AS n,
          ${sign}(r.response_ms IS NOT NULL)::int AS responded, ${sign}coalesce(r.response_ms, 0) AS response_ms FROM ${table} r`;

/** The three statements that apply `changes` (rows of changesOf) to the running totals and spans. */
function applyChanges(changes: string): string {
  const d = `d AS (SELECT org_msp, site_id, day, ${VALUES.map((v) => `sum(${v}) AS ${v}`).join(', ')} FROM (${changes}) x
                  GROUP BY 1, 2, 3 HAVING ${VALUES.map((v) => `sum(${v}) <> 0`).join(' OR ')})`;
  const sameSite = (a: string, b: string) => `${a}.org_msp = ${b}.org_msp AND ${a}.site_id = ${b}.site_id`;
  return `
    -- The span extended over the changed days: zeros before the site's first day, its totals carried after its last.
    WITH ${d}, g AS (SELECT org_msp, site_id, min(day) AS lo, max(day) AS hi FROM d GROUP BY 1, 2)
    INSERT INTO alarm_site_running_totals (day, org_msp, site_id, ${VALUES.join(', ')})
    SELECT f.day, g.org_msp, g.site_id, ${VALUES.map((v) => `coalesce(c.${v}, 0)`).join(', ')}
      FROM g LEFT JOIN alarm_site_spans s ON ${sameSite('s', 'g')}
      CROSS JOIN LATERAL (
        SELECT g.lo + i AS day, false AS carried FROM generate_series(0, coalesce(s.first_day - 1, g.hi) - g.lo) i
        UNION ALL SELECT s.last_day + i, true FROM generate_series(1, g.hi - s.last_day) i) f
      LEFT JOIN alarm_site_running_totals c ON f.carried AND c.day = s.last_day AND ${sameSite('c', 'g')};
    -- Each changed day's sum added to its row and every later row of the site: one running sum over
    -- the changes and the rows they reach, the rows ordered after the changes of their own day.
    WITH ${d}, g AS (SELECT org_msp, site_id, min(day) AS lo FROM d GROUP BY 1, 2),
      m AS (SELECT org_msp, site_id, day, is_row, ${VALUES.map((v) => `sum(${v}) OVER w AS ${v}`).join(', ')}
              FROM (SELECT org_msp, site_id, day, false AS is_row, ${VALUES.join(', ')} FROM d
                    UNION ALL SELECT t.org_msp, t.site_id, t.day, true, 0, 0, 0
                      FROM g JOIN alarm_site_running_totals t ON ${sameSite('t', 'g')} AND t.day >= g.lo) u
            WINDOW w AS (PARTITION BY org_msp, site_id ORDER BY day, is_row))
    UPDATE alarm_site_running_totals t SET ${VALUES.map((v) => `${v} = t.${v} + m.${v}`).join(', ')}
      FROM m WHERE m.is_row AND t.day = m.day AND ${sameSite('t', 'm')} AND (${VALUES.map((v) => `m.${v} <> 0`).join(' OR ')});
    WITH ${d}
    INSERT INTO alarm_site_spans (org_msp, site_id, first_day, last_day, ${VALUES.join(', ')})
    SELECT org_msp, site_id, min(day), max(day), ${VALUES.map((v) => `sum(${v})`).join(', ')} FROM d GROUP BY 1, 2
        ON CONFLICT (org_msp, site_id) DO UPDATE SET first_day = least(alarm_site_spans.first_day, excluded.first_day),
           last_day = greatest(alarm_site_spans.last_day, excluded.last_day),
           ${VALUES.map((v) => `${v} = alarm_site_spans.${v} + excluded.${v}`).join(', ')};`;
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('alarm_site_spans', (t) => {
    t.text('org_msp').notNullable();
    t.text('site_id').notNullable();
    t.date('first_day').notNullable();
    t.date('last_day').notNullable();
    for (const v of VALUES) t.bigInteger(v).notNullable();
    t.primary(['org_msp', 'site_id']);
  });
  await knex.schema.createTable('alarm_site_running_totals', (t) => {
    t.date('day').notNullable();
    t.text('org_msp').notNullable();
    t.text('site_id').notNullable();
    for (const v of VALUES) t.bigInteger(v).notNullable();
    // A site's days from one on (the triggers).
    t.index(['org_msp', 'site_id', 'day'], 'alarm_site_running_totals_site_index');
  });
  // Every site's totals at one day (the KPIs) from the index alone: a day's rows lie on as many heap
  // pages as there are sites (a span's days are written together), 2.5 ms of the KPIs' 7 at 1,000 sites.
  await knex.raw(`ALTER TABLE alarm_site_running_totals ADD CONSTRAINT alarm_site_running_totals_pkey
                    PRIMARY KEY (day, org_msp, site_id) INCLUDE (${VALUES.join(', ')})`);
  await onStatements(knex, 'alarm_site_running_totals', 'alarms', changesOf, applyChanges);
  // The alarms already indexed, as one statement inserting them all would leave them.
  const perDay = `WITH s AS (SELECT recorded_by_msp AS org_msp, site_id, rollup_day(recorded_at) AS day, count(*) AS n,
                                    count(response_ms) AS responded, coalesce(sum(response_ms), 0) AS response_ms FROM alarms GROUP BY 1, 2, 3)`;
  await knex.raw(`${perDay}
    INSERT INTO alarm_site_spans (org_msp, site_id, first_day, last_day, ${VALUES.join(', ')})
    SELECT org_msp, site_id, min(day), max(day), ${VALUES.map((v) => `sum(${v})`).join(', ')} FROM s GROUP BY 1, 2`);
  await knex.raw(`${perDay}
    INSERT INTO alarm_site_running_totals (day, org_msp, site_id, ${VALUES.join(', ')})
    SELECT sp.first_day + i, sp.org_msp, sp.site_id,
           ${VALUES.map((v) => `sum(coalesce(s.${v}, 0)) OVER (PARTITION BY sp.org_msp, sp.site_id ORDER BY i)`).join(', ')}
      FROM alarm_site_spans sp CROSS JOIN LATERAL generate_series(0, sp.last_day - sp.first_day) i
      LEFT JOIN s ON s.org_msp = sp.org_msp AND s.site_id = sp.site_id AND s.day = sp.first_day + i`);
}

export async function down(knex: Knex): Promise<void> {
  await dropOnStatements(knex, 'alarm_site_running_totals', 'alarms');
  await knex.schema.dropTable('alarm_site_running_totals');
  await knex.schema.dropTable('alarm_site_spans');
}
