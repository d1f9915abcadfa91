/**
 * Migration 017 on a real in-memory PGlite: the trail rows already indexed get their permit's
 * enterprise and site and are counted per day; rows written later get them whichever of a row
 * and its permit comes first; a permit that moves takes its trail with it; the day counters equal
 * the rows after inserts, updates and deletes; `down` leaves the tables as they were.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { openDb } from '../../src/db.js';
import { migrationSource } from '../../src/migrations/index.js';
import { migrateToJustBefore } from '../support/database.js';

const SEVENTEEN = '017-trail-scope-and-days';

const insertPermit = (db: Knex, permitNo: string, org: string, site: string) =>
  db.raw(
    `INSERT INTO permits (permit_no, org_msp, operation_type, level, requested_level, status, site_id, zone_id, work_unit, fire_explosion_zone,
                          night_or_holiday, planned_start, planned_end, template_version, applied_at, status_changed_at, record, block_number, tx_id)
     VALUES (?, ?, 'hot_work', '2', '2', 'active', ?, 'zone-0', 'unit-0', false, false, now(), now() + interval '8 hours', 1, now(), now(), '{}', 1, 'tx')`,
    [permitNo, org, site],
  );

/** n of each trail row for the permit, `daysBack` days spread; every fifth fails. */
const insertTrail = async (db: Knex, permitNo: string, tag: string, n: number, daysBack: number) => {
  const at = `now() - ((${daysBack} * 24 * 60 * g / ${n}) || ' minutes')::interval`;
  await db.raw(
    `INSERT INTO gas_tests (test_id, permit_no, lel_class, flammable_vol_pct, oxygen_vol_pct, toxic, passed, failures, sample_taken_at, recorded_at,
                            analyst_msp, block_number, tx_id)
     SELECT '${tag}-' || g, ?, 'lel_ge_4', 0.1, 20.9, '[]', g % 5 <> 0, '[]', ${at}, ${at}, 'E0MSP', 1, 'tx' FROM generate_series(1, ${n}) g`,
    [permitNo],
  );
  await db.raw(
    `INSERT INTO gate_checks (gate_check_id, permit_no, worker_id, at, passed, qr_passed, face_passed, face_score_bp, face_device_id,
                              certificate_passed, certificate_reason, health_passed, recorded_by_msp, block_number, tx_id)
     SELECT '${tag}-' || g, ?, 'W-1', ${at}, g % 5 <> 0, true, true, 9000, 'gate', true, '', true, 'E0MSP', 1, 'tx' FROM generate_series(1, ${n}) g`,
    [permitNo],
  );
  await db.raw(
    `INSERT INTO evidence (permit_no, step, cid, sha256, size_bytes, media_type, captured_at, recorded_by_msp, recorded_at, block_number, tx_id)
     SELECT ?, 'completion', '${tag}-' || g, md5(g::text), 1, 'image/jpeg', ${at}, 'E0MSP', now(), 1, 'tx' FROM generate_series(1, ${n}) g`,
    [permitNo],
  );
};

const rows = async (db: Knex, sql: string) => ((await db.raw(sql)) as { rows: Record<string, unknown>[] }).rows;

/** Each table's rows per permit with the enterprise and site they carry. */
const scopes = (db: Knex) =>
  rows(
    db,
    `SELECT 'gas' AS t, permit_no, org_msp, site_id, count(*)::int AS n FROM gas_tests GROUP BY 1, 2, 3, 4
     UNION ALL SELECT 'gate', permit_no, org_msp, site_id, count(*)::int FROM gate_checks GROUP BY 1, 2, 3, 4
     UNION ALL SELECT 'evidence', permit_no, org_msp, site_id, count(*)::int FROM evidence GROUP BY 1, 2, 3, 4 ORDER BY 1, 2`,
  );

/** The day counters, and the same figures grouped from the rows. */
const days = async (db: Knex) => ({
  counted: await rows(
    db,
    `SELECT 'gas' AS t, day::text AS day, n::int AS n, failed::int AS failed FROM gas_test_days WHERE n <> 0
     UNION ALL SELECT 'gate', day::text, n::int, failed::int FROM gate_check_days WHERE n <> 0
     UNION ALL SELECT 'evidence', day::text, n::int, 0 FROM evidence_days WHERE n <> 0 ORDER BY 1, 2`,
  ),
  fromRows: await rows(
    db,
    `SELECT 'gas' AS t, rollup_day(recorded_at)::text AS day, count(*)::int AS n, count(*) FILTER (WHERE NOT passed)::int AS failed FROM gas_tests GROUP BY 1, 2
     UNION ALL SELECT 'gate', rollup_day(at)::text, count(*)::int, count(*) FILTER (WHERE NOT passed)::int FROM gate_checks GROUP BY 1, 2
     UNION ALL SELECT 'evidence', rollup_day(captured_at)::text, count(*)::int, 0 FROM evidence GROUP BY 1, 2 ORDER BY 1, 2`,
  ),
});

describe("indexer: migration 017 (a permit's trail carries its enterprise and site, and day counters)", function () {
  this.timeout(120_000);
  let db: Knex;

  before(async () => {
    db = openDb({ pgliteDir: 'memory' });
    // Every migration before 017, then a permit with its trail and a trail whose permit has no row yet, then 017.
    await migrateToJustBefore(db, SEVENTEEN);
    await insertPermit(db, 'HW-1', 'E1MSP', 'site-1');
    await insertTrail(db, 'HW-1', 'before', 40, 20);
    await insertTrail(db, 'HW-LATE', 'orphan', 5, 3);
    await db.migrate.up({ migrationSource });
  });
  after(async () => {
    await db?.destroy();
  });

  it("gives the rows already there their permit's enterprise and site, none to a row whose permit is not indexed, and counts them all per day", async () => {
    expect(await scopes(db)).to.deep.equal([
      { t: 'evidence', permit_no: 'HW-1', org_msp: 'E1MSP', site_id: 'site-1', n: 40 },
      { t: 'evidence', permit_no: 'HW-LATE', org_msp: null, site_id: null, n: 5 },
      { t: 'gas', permit_no: 'HW-1', org_msp: 'E1MSP', site_id: 'site-1', n: 40 },
      { t: 'gas', permit_no: 'HW-LATE', org_msp: null, site_id: null, n: 5 },
      { t: 'gate', permit_no: 'HW-1', org_msp: 'E1MSP', site_id: 'site-1', n: 40 },
      { t: 'gate', permit_no: 'HW-LATE', org_msp: null, site_id: null, n: 5 },
    ]);
    const { counted, fromRows } = await days(db);
    expect(counted.length, 'days with trail rows').to.be.greaterThan(15);
    expect(counted).to.deep.equal(fromRows);
  });

  it("gives a row written after its permit the permit's scope, and a permit written after its rows its scope to them", async () => {
    await insertPermit(db, 'HW-2', 'E2MSP', 'site-2');
    await insertTrail(db, 'HW-2', 'after', 7, 2);
    await insertPermit(db, 'HW-LATE', 'E3MSP', 'site-3');
    const byPermit = (await scopes(db)).filter((r) => r.permit_no !== 'HW-1').map((r) => [r.t, r.permit_no, r.org_msp, r.site_id, r.n]);
    expect(byPermit).to.deep.equal([
      ['evidence', 'HW-2', 'E2MSP', 'site-2', 7],
      ['evidence', 'HW-LATE', 'E3MSP', 'site-3', 5],
      ['gas', 'HW-2', 'E2MSP', 'site-2', 7],
      ['gas', 'HW-LATE', 'E3MSP', 'site-3', 5],
      ['gate', 'HW-2', 'E2MSP', 'site-2', 7],
      ['gate', 'HW-LATE', 'E3MSP', 'site-3', 5],
    ]);
  });

  it("moves a permit's trail when its site changes, and not when another column does", async () => {
    await db.raw(`UPDATE permits SET site_id = 'site-9' WHERE permit_no = 'HW-2'`);
    await db.raw(`UPDATE permits SET status = 'suspended' WHERE permit_no = 'HW-1'`);
    const scoped = (await scopes(db)).filter((r) => r.permit_no !== 'HW-LATE').map((r) => `${r.t} ${r.permit_no} ${r.org_msp} ${r.site_id}`);
    expect(scoped).to.deep.equal([
      'evidence HW-1 E1MSP site-1',
      'evidence HW-2 E2MSP site-9',
      'gas HW-1 E1MSP site-1',
      'gas HW-2 E2MSP site-9',
      'gate HW-1 E1MSP site-1',
      'gate HW-2 E2MSP site-9',
    ]);
  });

  it('keeps the day counters equal to the rows through moved times, changed results and deletes', async () => {
    await db.raw(`UPDATE gas_tests SET recorded_at = recorded_at - interval '3 days' WHERE test_id LIKE 'before-1%'`);
    await db.raw(`UPDATE gate_checks SET passed = NOT passed WHERE gate_check_id LIKE 'before-2%'`);
    await db.raw(`DELETE FROM evidence WHERE cid LIKE 'before-3%'`);
    await db.raw(`DELETE FROM gas_tests WHERE permit_no = 'HW-LATE'`);
    const { counted, fromRows } = await days(db);
    expect(counted).to.deep.equal(fromRows);
  });

  it('down drops the counters, indexes, triggers and columns, and up again gives the same scopes and days', async () => {
    const before = { scopes: await scopes(db), days: (await days(db)).counted };
    await db.migrate.down({ migrationSource });
    const columns = await rows(
      db,
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE table_name IN ('gas_tests', 'gate_checks', 'evidence') AND column_name IN ('org_msp', 'site_id')`,
    );
    expect(columns).to.deep.equal([]);
    expect(await rows(db, `SELECT tablename FROM pg_tables WHERE tablename IN ('gas_test_days', 'gate_check_days', 'evidence_days')`)).to.deep.equal([]);
    await db.migrate.up({ migrationSource });
    expect({ scopes: await scopes(db), days: (await days(db)).counted }).to.deep.equal(before);
  });
});
