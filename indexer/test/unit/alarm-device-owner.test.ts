/**
 * Migration 019 on a real in-memory PGlite: alarms already indexed get their device's owner; an
 * alarm written later gets it when written, and one whose device has no row gets it when the
 * device arrives; the month's per-owner and per-site figures read from the column equal the join
 * the monthly report ran before; `down` leaves the table as it was.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { openDb } from '../../src/db.js';
import { migrationSource } from '../../src/migrations/index.js';
import { migrateToJustBefore } from '../support/database.js';

const NINETEEN = '019-alarm-device-owner';

const insertDevice = (db: Knex, deviceId: string, owner: string, site: string) =>
  db.raw(
    `INSERT INTO devices (device_id, owner_msp, site_id, area_id, address, kind, status, registered_at, block_number, tx_id)
     VALUES (?, ?, ?, 'area-0', '0x00', 'gas_detector', 'active', now(), 1, 'tx')`,
    [deviceId, owner, site],
  );

/** n alarms of the device, recorded by `recorder` (not necessarily the device's owner). */
const insertAlarms = (db: Knex, tag: string, deviceId: string, site: string, recorder: string, n: number) =>
  db.raw(
    `INSERT INTO alarms (alarm_id, device_id, device_kind, site_id, area_id, grade, kind, score_bp, model_version, status, observed_at, recorded_at,
                         recorded_by_msp, suspended_permit_nos, record, block_number, tx_id)
     SELECT '${tag}-' || g, ?, 'gas_detector', ?, 'area-0', 1 + g % 4, 'gas', 5000, 'm1', 'open', now() - (g || ' hours')::interval,
            now() - (g || ' hours')::interval, ?, '[]', '{}', 1, 'tx' FROM generate_series(1, ${n}) g`,
    [deviceId, site, recorder],
  );

const rows = async (db: Knex, sql: string) => ((await db.raw(sql)) as { rows: Record<string, unknown>[] }).rows;

/** Alarms per device and the owner each carries. */
const owners = (db: Knex) => rows(db, 'SELECT device_id, device_owner_msp AS owner, count(*)::int AS n FROM alarms GROUP BY 1, 2 ORDER BY 1, 2');

/** The report's per-site alarm figures for the last 30 days, from the column and from the join it replaced. */
const perSite = async (db: Knex) => ({
  fromColumn: await rows(
    db,
    `SELECT coalesce(device_owner_msp, '') AS org_msp, site_id, count(*)::int AS n FROM alarms
      WHERE recorded_at >= now() - interval '30 days' GROUP BY 1, 2 ORDER BY 1, 2`,
  ),
  fromJoin: await rows(
    db,
    `SELECT coalesce(d.owner_msp, '') AS org_msp, a.site_id, count(*)::int AS n FROM alarms a LEFT JOIN devices d USING (device_id)
      WHERE a.recorded_at >= now() - interval '30 days' GROUP BY 1, 2 ORDER BY 1, 2`,
  ),
});

describe("indexer: migration 019 (an alarm carries its device's owner)", function () {
  this.timeout(120_000);
  let db: Knex;

  before(async () => {
    db = openDb({ pgliteDir: 'memory' });
    // Every migration before 019, then a device with alarms (one recorded by another enterprise) and alarms of a device not indexed, then 019.
    await migrateToJustBefore(db, NINETEEN);
    await insertDevice(db, 'D-1', 'E1MSP', 'site-1');
    await insertAlarms(db, 'own', 'D-1', 'site-1', 'E1MSP', 30);
    await insertAlarms(db, 'other', 'D-1', 'site-1', 'E9MSP', 4);
    await insertAlarms(db, 'orphan', 'D-LATE', 'site-3', 'E3MSP', 5);
    await db.migrate.up({ migrationSource });
  });
  after(async () => {
    await db?.destroy();
  });

  it("gives the alarms already there their device's owner, whoever recorded them, and none to an alarm whose device is not indexed", async () => {
    expect(await owners(db)).to.deep.equal([
      { device_id: 'D-1', owner: 'E1MSP', n: 34 },
      { device_id: 'D-LATE', owner: null, n: 5 },
    ]);
  });

  it('gives an alarm written after its device the owner, and a device written after its alarms its owner to them', async () => {
    await insertDevice(db, 'D-2', 'E2MSP', 'site-2');
    await insertAlarms(db, 'after', 'D-2', 'site-2', 'E2MSP', 6);
    await insertDevice(db, 'D-LATE', 'E3MSP', 'site-3');
    expect(await owners(db)).to.deep.equal([
      { device_id: 'D-1', owner: 'E1MSP', n: 34 },
      { device_id: 'D-2', owner: 'E2MSP', n: 6 },
      { device_id: 'D-LATE', owner: 'E3MSP', n: 5 },
    ]);
  });

  it("follows a device row's new owner, keeps the owner through an alarm's rewrite, and the per-site figures equal the join's", async () => {
    await db.raw(`UPDATE devices SET owner_msp = 'E4MSP' WHERE device_id = 'D-2'`);
    await db.raw(`UPDATE devices SET status = 'retired' WHERE device_id = 'D-1'`);
    // The indexer's upsert of an acknowledged alarm: its owner stays.
    await db.raw(
      `INSERT INTO alarms SELECT * FROM alarms WHERE alarm_id = 'own-1'
         ON CONFLICT (alarm_id) DO UPDATE SET status = 'acknowledged', response_ms = 1200`,
    );
    expect(await owners(db)).to.deep.equal([
      { device_id: 'D-1', owner: 'E1MSP', n: 34 },
      { device_id: 'D-2', owner: 'E4MSP', n: 6 },
      { device_id: 'D-LATE', owner: 'E3MSP', n: 5 },
    ]);
    const { fromColumn, fromJoin } = await perSite(db);
    expect(fromColumn.length, 'sites with alarms').to.equal(3);
    expect(fromColumn).to.deep.equal(fromJoin);
  });

  it('down drops the column, its triggers and the index it was in; up again gives the same owners', async () => {
    const before = await owners(db);
    await db.migrate.down({ migrationSource });
    expect(await rows(db, `SELECT column_name FROM information_schema.columns WHERE table_name = 'alarms' AND column_name = 'device_owner_msp'`)).to.deep.equal(
      [],
    );
    const index = await rows(db, `SELECT indexdef FROM pg_indexes WHERE indexname = 'alarms_window_index'`);
    expect(String(index[0]?.indexdef)).to.match(/INCLUDE \(site_id, area_id, recorded_by_msp, device_id, grade, response_ms\)$/);
    await db.migrate.up({ migrationSource });
    expect(await owners(db)).to.deep.equal(before);
  });
});
