/**
 * Migration 015 on a mirror that already holds alarms, on a real in-memory PGlite: its first fill
 * equals what its triggers keep for the same alarms (and both equal the alarms read up to each
 * day); `down` drops them and leaves migration 013's month counters counting.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { openDb } from '../../src/db.js';
import { migrationSource } from '../../src/migrations/index.js';
import { migrateToJustBefore } from '../support/database.js';

const FIFTEEN = '015-alarm-site-running-totals';

/** 300 alarms over 60 days at 7 sites of 2 enterprises, two in three acknowledged; `tag` keeps two batches apart. */
const insertAlarms = (db: Knex, tag: string, daysBack: number) =>
  db.raw(`INSERT INTO alarms (alarm_id, device_id, device_kind, site_id, area_id, grade, kind, score_bp, model_version, status, observed_at,
                              recorded_at, recorded_by_msp, response_ms, suspended_permit_nos, record, block_number, tx_id)
          SELECT '${tag}-' || g, 'dev', 'gas_detector', 'site-' || (g % 7), 'zone-0', 1, 'gas_leak', 9000, 'm1', 'open', now(),
                 now() - ((${daysBack} * 24 * 60 * g / 300) || ' minutes')::interval, 'E' || (g % 2) || 'MSP',
                 CASE WHEN g % 3 <> 0 THEN 1000 * g END, '[]'::jsonb, '{}'::jsonb, 1, 'tx-' || g
            FROM generate_series(1, 300) g`);

const totals = async (db: Knex) =>
  (
    (await db.raw(`SELECT day::text AS day, org_msp, site_id, n::int AS n, responded::int AS responded, response_ms::bigint::text AS ms
                     FROM alarm_site_running_totals ORDER BY 1, 2, 3`)) as { rows: unknown[] }
  ).rows;
const totalsFromAlarms = async (db: Knex) =>
  (
    (await db.raw(`SELECT (s.first_day + i)::text AS day, s.org_msp, s.site_id, count(a.alarm_id)::int AS n, count(a.response_ms)::int AS responded,
                          coalesce(sum(a.response_ms), 0)::bigint::text AS ms
                     FROM alarm_site_spans s CROSS JOIN LATERAL generate_series(0, s.last_day - s.first_day) i
                     LEFT JOIN alarms a ON a.recorded_by_msp = s.org_msp AND a.site_id = s.site_id AND rollup_day(a.recorded_at) <= s.first_day + i
                    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)) as { rows: unknown[] }
  ).rows;

describe('indexer: migration 015 (alarms per site as running totals) over alarms already indexed', function () {
  this.timeout(120_000);
  let db: Knex;

  before(async () => {
    db = openDb({ pgliteDir: 'memory' });
    // Every migration before 015, then alarms, then 015.
    await migrateToJustBefore(db, FIFTEEN);
    await insertAlarms(db, 'before', 60);
    await db.migrate.up({ migrationSource });
  });
  after(async () => {
    await db?.destroy();
  });

  it('fills the running totals of the alarms already there as its triggers keep them for alarms written after it', async () => {
    const filled = await totals(db);
    expect(filled.length, 'a row per site and day of its span').to.be.greaterThan(7 * 50);
    expect(filled).to.deep.equal(await totalsFromAlarms(db));
    // The same alarms written again through the triggers, from empty tables.
    await db.raw('DELETE FROM alarms');
    expect(((await db.raw('SELECT count(*)::int AS n FROM alarm_site_spans WHERE n <> 0')) as { rows: { n: number }[] }).rows[0]!.n).to.equal(0);
    await db.raw('TRUNCATE alarm_site_running_totals, alarm_site_spans');
    await insertAlarms(db, 'before', 60);
    expect(await totals(db)).to.deep.equal(filled);
    // And a second batch spread over a longer span, reaching before every site's first day.
    await insertAlarms(db, 'after', 90);
    expect(await totals(db)).to.deep.equal(await totalsFromAlarms(db));
  });

  it("down drops the running totals and leaves migration 013's month counters as the alarms hold them; up fills them again", async () => {
    const before = await totals(db);
    await db.migrate.down({ migrationSource });
    const tables = (
      (await db.raw(`SELECT to_regclass('alarm_site_running_totals') IS NULL AS gone, to_regclass('alarm_site_spans') IS NULL AS spans_gone`)) as {
        rows: { gone: boolean; spans_gone: boolean }[];
      }
    ).rows[0]!;
    expect(tables).to.deep.equal({ gone: true, spans_gone: true });
    // Written with 015's triggers gone: the month counters (014's triggers) keep counting.
    await db.raw(`UPDATE alarms SET response_ms = 5 WHERE response_ms IS NULL`);
    const months = (
      (await db.raw(`SELECT month::text, org_msp, site_id, n::int, responded::int, response_ms::bigint::text AS ms
                                        FROM alarm_site_months WHERE n <> 0 ORDER BY 1, 2, 3`)) as { rows: unknown[] }
    ).rows;
    const fromAlarms = (
      (await db.raw(`SELECT date_trunc('month', rollup_day(recorded_at))::date::text AS month, recorded_by_msp AS org_msp, site_id, count(*)::int AS n,
                            count(response_ms)::int AS responded, coalesce(sum(response_ms), 0)::bigint::text AS ms
                       FROM alarms GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)) as { rows: unknown[] }
    ).rows;
    expect(months.length).to.be.greaterThan(7);
    expect(months).to.deep.equal(fromAlarms);
    await db.raw(`UPDATE alarms SET response_ms = NULL WHERE response_ms = 5`);
    await db.migrate.up({ migrationSource });
    expect(await totals(db)).to.deep.equal(before);
  });
});
