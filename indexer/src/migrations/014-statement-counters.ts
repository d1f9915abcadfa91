/**
 * The counters of permits and alarms kept once per statement instead of once per row (issue 18,
 * point 4: the embedded mirror catching up at 2,000 transactions a second).
 *
 * Migrations 010–013 keep eight counter tables and the flags' permit attributes by row triggers:
 * every permit the indexer writes called six PL/pgSQL functions, each an upsert of one counter
 * row. In PGlite that was a quarter of a catch-up over permit applications. The indexer writes a
 * batch's rows of a table in one statement (one row per key: `DomainBatch`), so a statement
 * trigger with transition tables (the statement's old and new rows) sums each key's change once
 * and upserts each counter row once. An INSERT … ON CONFLICT DO UPDATE fires the INSERT trigger
 * with the rows it inserted and the UPDATE trigger with the rows it updated. An update that moves
 * nothing a counter reads (a replayed row) nets to zero and writes nothing.
 *
 * The counter tables and their figures are unchanged; only how they are kept. The row functions
 * stay for `down`. Updates of a permit's flag attributes keep their row trigger (its WHEN is
 * evaluated without calling PL/pgSQL, so replays cost nothing there).
 */
import type { Knex } from 'knex';
import { ALARM_DAYS, ALARM_RESPONSE_DAYS, type Counter, PERMIT_DAYS } from './011-regulator-rollups.js';
import { PERMIT_SITE_COUNTS } from './012-kpi-now-counters.js';
import {
  ALARM_SITE_MONTHS,
  CHANGED_COLUMNS,
  onlyWhenChanged,
  PERMIT_COLUMNS,
  PERMIT_SITE_MONTHS,
  PERMIT_TYPE_COUNTS,
} from './013-violation-flags-alarm-site-months.js';

export const name = '014-statement-counters';

/** Migration 010's, written by hand there. */
const PERMIT_COUNTS: Counter = {
  table: 'permit_counts',
  source: 'permits',
  key: { org_msp: '#.org_msp', site_id: '#.site_id', operation_type: '#.operation_type', status: '#.status' },
  values: { n: '1' },
};
const COUNTERS = [PERMIT_COUNTS, PERMIT_DAYS, PERMIT_SITE_COUNTS, PERMIT_SITE_MONTHS, PERMIT_TYPE_COUNTS, ALARM_DAYS, ALARM_RESPONSE_DAYS, ALARM_SITE_MONTHS];

const EVENTS = [
  ['inserted', 'INSERT', 'NEW TABLE AS new_rows'],
  ['updated', 'UPDATE', 'OLD TABLE AS old_rows NEW TABLE AS new_rows'],
  ['deleted', 'DELETE', 'OLD TABLE AS old_rows'],
] as const;

/** A transition table's rows as changes: added ('', the new rows) or taken off ('-', the old rows). */
export type ChangedRows = (table: 'new_rows' | 'old_rows', sign: '' | '-') => string;

/**
 * `${name}_apply_rows()`, run once per statement that inserts, updates or deletes rows of `source`
 * (triggers `${name}_apply_inserted`, `_updated`, `_deleted`): `apply` is its body for the
 * statement's changes, `rows` the changes of one transition table (an update: its new rows added
 * and its old rows taken off).
 */
export async function onStatements(knex: Knex, name: string, source: string, rows: ChangedRows, apply: (changes: string) => string): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION ${name}_apply_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        ${apply(rows('new_rows', ''))}
      ELSIF TG_OP = 'UPDATE' THEN
        ${apply(`${rows('new_rows', '')} UNION ALL ${rows('old_rows', '-')}`)}
      ELSE
        ${apply(rows('old_rows', '-'))}
      END IF;
      RETURN NULL;
    END $$`);
  for (const [suffix, event, referencing] of EVENTS) {
    await knex.raw(`CREATE TRIGGER ${name}_apply_${suffix} AFTER ${event} ON ${source} REFERENCING ${referencing}
                      FOR EACH STATEMENT EXECUTE FUNCTION ${name}_apply_rows()`);
  }
}

/** What onStatements created. */
export async function dropOnStatements(knex: Knex, name: string, source: string): Promise<void> {
  for (const [suffix] of EVENTS) await knex.raw(`DROP TRIGGER ${name}_apply_${suffix} ON ${source}`);
  await knex.raw(`DROP FUNCTION ${name}_apply_rows()`);
}

export async function statementCounter(knex: Knex, c: Counter): Promise<void> {
  const expr = (e: string, row: string) => e.replaceAll('#', row);
  const keys = Object.keys(c.key);
  const values = Object.keys(c.values);
  // Each counted row's key and values, added (new rows) or taken off (old rows).
  const rows: ChangedRows = (table, sign) => {
    const columns = [
      ...Object.values(c.key).map((e, i) => `${expr(e, 'r')} AS ${keys[i]}`),
      ...Object.values(c.values).map((e, i) => `${sign}(${expr(e, 'r')}) AS ${values[i]}`),
    ];
    return `SELECT ${columns.join(', ')} FROM ${table} r WHERE ${c.where ? expr(c.where, 'r') : 'TRUE'}`;
  };
  const apply = (changes: string) => `INSERT INTO ${c.table} (${[...keys, ...values].join(', ')})
      SELECT ${[...keys, ...values.map((v) => `sum(${v})`)].join(', ')} FROM (${changes}) x
       GROUP BY ${keys.join(', ')} HAVING ${values.map((v) => `sum(${v}) <> 0`).join(' OR ')}
      ON CONFLICT (${keys.join(', ')}) DO UPDATE SET ${values.map((v) => `${v} = ${c.table}.${v} + excluded.${v}`).join(', ')};`;
  await knex.raw(`DROP TRIGGER ${c.table}_apply ON ${c.source}`);
  // Migration 013 let some fire on update only when a column they read changed (a second trigger).
  if (CHANGED_COLUMNS[c.table]) await knex.raw(`DROP TRIGGER ${c.table}_apply_changed ON ${c.source}`);
  await onStatements(knex, c.table, c.source, rows, apply);
}

export async function up(knex: Knex): Promise<void> {
  for (const c of COUNTERS) await statementCounter(knex, c);
  // A new permit's flags (indexed before it) get their rows; a deleted permit's lose them.
  await knex.raw(`
    CREATE FUNCTION violation_flags_of_permits() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO violation_flags (flag_id, permit_no, at, ${PERMIT_COLUMNS.join(', ')})
          SELECT f.flag_id, f.permit_no, f.at, ${PERMIT_COLUMNS.map((col) => `r.${col}`).join(', ')}
            FROM new_rows r JOIN investigation_flags f ON f.permit_no = r.permit_no;
      ELSE
        DELETE FROM violation_flags v USING old_rows r WHERE v.permit_no = r.permit_no;
      END IF;
      RETURN NULL;
    END $$`);
  await knex.raw('DROP TRIGGER violation_flags_of_new_permit ON permits');
  await knex.raw(`CREATE TRIGGER violation_flags_of_inserted_permits AFTER INSERT ON permits REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION violation_flags_of_permits()`);
  await knex.raw(`CREATE TRIGGER violation_flags_of_deleted_permits AFTER DELETE ON permits REFERENCING OLD TABLE AS old_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION violation_flags_of_permits()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER violation_flags_of_deleted_permits ON permits');
  await knex.raw('DROP TRIGGER violation_flags_of_inserted_permits ON permits');
  await knex.raw('DROP FUNCTION violation_flags_of_permits()');
  await knex.raw(`CREATE TRIGGER violation_flags_of_new_permit AFTER INSERT OR DELETE ON permits
                    FOR EACH ROW EXECUTE FUNCTION violation_flags_of_permit()`);
  for (const c of [...COUNTERS].reverse()) {
    await dropOnStatements(knex, c.table, c.source);
    // As 011–013 left them: the row trigger `counters` creates, then 013's split where it made one.
    await knex.raw(`CREATE TRIGGER ${c.table}_apply AFTER INSERT OR UPDATE OR DELETE ON ${c.source} FOR EACH ROW EXECUTE FUNCTION ${c.table}_apply()`);
    const changed = CHANGED_COLUMNS[c.table];
    if (changed) await onlyWhenChanged(knex, c.table, c.source, changed);
  }
}
