/**
 * A monthly report's gas tests, gate checks and evidence at a park's volume (issue 18, point 6).
 *
 * The report counts each of the three in its window, for the park or for one enterprise or site.
 * The tables had no index on the time the report counts by (evidence none at all, gas tests and
 * gate checks only after `passed`), and a scope reached a row's enterprise and site through its
 * permit, a probe per row. With the trail a park's permits leave (about 4.75 rows a permit,
 * gateway/test/support/indexer.ts `syntheticTrail`) and 1,000,000 permits, the park's report took
 * 614 ms at p50 and one enterprise's 254 ms (bench/RESULTS.md, 2026-12-06 "the trail").
 *
 * - Each row carries its permit's enterprise and site (`org_msp`, `site_id`), as `violation_flags`
 *   does (migration 013): set from the permit when the row is written, and from the row's permit
 *   when the permit is written or its enterprise or site changes (the indexer writes a batch's
 *   tables in the order their first rows came, so a gas test may be written before its permit's
 *   first row). NULL only while the permit has no row: such a row is in the park's figures and in
 *   no scope's, as a permit without a row is.
 * - Indexes by scope and time (`…_org_index`, `…_site_index`) and by time alone (the edges of the
 *   park's window), each covering `passed`.
 * - Day counters for the park (`gas_test_days`, `gate_check_days`, `evidence_days`): per rollup day
 *   (migration 011) of the time the report counts by, with the failed ones, kept once per
 *   statement (migration 014): a day's counter row is hot (a batch's trail mostly falls on one
 *   day), and updated once per row it made a batch of 250 permits' trail quadratic in PGlite
 *   (domain writes ten times slower, indexer/bench/trigger-cost.bench.ts).
 * - A batch's new permits give their trail its scope in one statement per table, not a PL/pgSQL
 *   call per permit; the rare change of a permit's enterprise or site moves its trail row by row.
 */
import type { Knex } from 'knex';
import { type Counter, counters } from './011-regulator-rollups.js';
import { dropOnStatements, statementCounter } from './014-statement-counters.js';

export const name = '017-trail-scope-and-days';

/** Each table of a permit's trail: the time a report counts it by, and whether it records a pass. */
export const TRAIL: readonly { table: string; at: string; passed: boolean; days: string }[] = [
  { table: 'gas_tests', at: 'recorded_at', passed: true, days: 'gas_test_days' },
  { table: 'gate_checks', at: 'at', passed: true, days: 'gate_check_days' },
  { table: 'evidence', at: 'captured_at', passed: false, days: 'evidence_days' },
];

export function trailDays(t: (typeof TRAIL)[number]): Counter {
  return {
    table: t.days,
    source: t.table,
    key: { day: `rollup_day(#.${t.at})` },
    values: t.passed ? { n: '1', failed: '(NOT #.passed)::int' } : { n: '1' },
  };
}

export async function up(knex: Knex): Promise<void> {
  for (const t of TRAIL) {
    await knex.raw(`ALTER TABLE ${t.table} ADD COLUMN org_msp text, ADD COLUMN site_id text`);
    await knex.raw(`UPDATE ${t.table} x SET org_msp = p.org_msp, site_id = p.site_id FROM permits p WHERE p.permit_no = x.permit_no`);
    await knex.raw(`
      CREATE FUNCTION ${t.table}_scope() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        SELECT p.org_msp, p.site_id INTO NEW.org_msp, NEW.site_id FROM permits p WHERE p.permit_no = NEW.permit_no;
        RETURN NEW;
      END $$`);
    await knex.raw(`CREATE TRIGGER ${t.table}_scope BEFORE INSERT ON ${t.table} FOR EACH ROW EXECUTE FUNCTION ${t.table}_scope()`);
    const covered = t.passed ? ' INCLUDE (passed)' : '';
    await knex.raw(`CREATE INDEX ${t.table}_window_index ON ${t.table} (${t.at})${covered}`);
    await knex.raw(`CREATE INDEX ${t.table}_org_index ON ${t.table} (org_msp, ${t.at})${t.passed ? ' INCLUDE (passed, site_id)' : ' INCLUDE (site_id)'}`);
    await knex.raw(`CREATE INDEX ${t.table}_site_index ON ${t.table} (site_id, ${t.at})${covered}`);
    await knex.schema.createTable(t.days, (c) => {
      c.date('day').primary();
      c.bigInteger('n').notNullable();
      if (t.passed) c.bigInteger('failed').notNullable();
    });
    // The row function and its first fill, then the statement triggers in place of its row trigger.
    await counters(knex, trailDays(t));
    await statementCounter(knex, trailDays(t));
  }
  // A permit's first row, or a change of its enterprise or site, moves its trail's rows with it:
  // the batch's new permits (a statement's transition table), or the one permit that moved.
  const followers = [
    ['trail_scope_of_new_permits', 'new_rows r', 'r', 'AFTER INSERT ON permits REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT'],
    [
      'trail_scope_of_moved_permit',
      '(SELECT NEW.permit_no, NEW.org_msp, NEW.site_id) p (permit_no, org_msp, site_id)',
      'p',
      'AFTER UPDATE ON permits FOR EACH ROW WHEN (OLD.org_msp IS DISTINCT FROM NEW.org_msp OR OLD.site_id IS DISTINCT FROM NEW.site_id)',
    ],
  ] as const;
  for (const [fn, permits, p, when] of followers) {
    const updates = TRAIL.map(
      (t) => `UPDATE ${t.table} x SET org_msp = ${p}.org_msp, site_id = ${p}.site_id FROM ${permits}
               WHERE x.permit_no = ${p}.permit_no AND (x.org_msp IS DISTINCT FROM ${p}.org_msp OR x.site_id IS DISTINCT FROM ${p}.site_id);`,
    );
    await knex.raw(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${updates.join(' ')} RETURN NULL; END $$`);
    await knex.raw(`CREATE TRIGGER ${fn} ${when} EXECUTE FUNCTION ${fn}()`);
  }
  for (const t of TRAIL) await knex.raw(`ANALYZE ${t.table}`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER trail_scope_of_moved_permit ON permits');
  await knex.raw('DROP FUNCTION trail_scope_of_moved_permit()');
  await knex.raw('DROP TRIGGER trail_scope_of_new_permits ON permits');
  await knex.raw('DROP FUNCTION trail_scope_of_new_permits()');
  for (const t of [...TRAIL].reverse()) {
    await dropOnStatements(knex, t.days, t.table);
    await knex.raw(`DROP FUNCTION ${t.days}_apply()`);
    await knex.schema.dropTable(t.days);
    for (const index of ['window', 'org', 'site']) await knex.raw(`DROP INDEX ${t.table}_${index}_index`);
    await knex.raw(`DROP TRIGGER ${t.table}_scope ON ${t.table}`);
    await knex.raw(`DROP FUNCTION ${t.table}_scope()`);
    await knex.raw(`ALTER TABLE ${t.table} DROP COLUMN org_msp, DROP COLUMN site_id`);
  }
}
