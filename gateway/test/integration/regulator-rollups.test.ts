/**
 * The regulator's whole-park figures read from the indexer's day rollups (migration 011) equal the
 * same figures computed from the permits and alarms themselves, on a real PostgreSQL and on PGlite
 * (served over its socket, as `npm start` serves it to the regulator gateway): windows on rollup
 * days and across them, months of three time zones, after permits changed status, alarms were
 * acknowledged, closed and deleted, and rows were rewritten unchanged as a replayed block does.
 * Migration 013's tables too: flags with their permits' attributes (a permit moved, a flag deleted,
 * a flag indexed before its permit), alarms and permits per site and month, permits per type and
 * status; and 015's per-site running totals of alarms (an alarm indexed before its site's first, one moved to
 * another site and day, a site's first alarm); each with a broken row that must fail the comparison.
 */

import { LIVE_PERMIT_STATUSES } from '@compliance-ledger/schema';
import { expect } from 'chai';
import type { Knex } from 'knex';
import pg from 'pg';
import { migrate, openDatabase } from '../../../indexer/src/db.js';
import { type PgliteSocket, startPgliteSocket } from '../../../indexer/src/pglite-socket.js';
import { COUNT_CAP, EFFECTIVE_STATUS, type Kpis, RegulatorRepository, riskCell } from '../../src/regulator-repository.js';
import { monthWindow } from '../../src/report-calendar.js';
import { createDatabase, databaseUrl, dropDatabase } from '../support/env.js';
import { syntheticPermits, syntheticSurroundings, syntheticTrail } from '../support/indexer.js';

/** About three weeks of permits (one a minute) and alarms (one every ten minutes) back from now. */
const PERMITS = 30_000;

/** What the indexer's projection does to rows after they were first written, through the same triggers. */
const CHANGES = [
  // Acknowledged: a response time appears.
  `UPDATE alarms SET status = 'acknowledged', acknowledged_at = recorded_at + interval '47 seconds', response_ms = 47000 WHERE status = 'open'`,
  `UPDATE alarms SET status = 'closed', closed_at = recorded_at + interval '2 hours' WHERE status = 'acknowledged' AND alarm_id LIKE 'AL-1%'`,
  `DELETE FROM alarms WHERE alarm_id IN ('AL-7', 'AL-77', 'AL-777')`,
  // An alarm indexed late, weeks before its site's first; one moved to another site and a later day; a site's first alarm.
  `INSERT INTO alarms SELECT (jsonb_populate_record(NULL::alarms, to_jsonb(a) || jsonb_build_object('alarm_id', 'AL-early',
     'recorded_at', a.recorded_at - interval '40 days'))).* FROM alarms a WHERE alarm_id = 'AL-5'`,
  `UPDATE alarms SET site_id = 'site-3', recorded_at = recorded_at + interval '3 days' WHERE alarm_id = 'AL-900'`,
  `INSERT INTO alarms SELECT (jsonb_populate_record(NULL::alarms, to_jsonb(a) || '{"alarm_id": "AL-new-site", "site_id": "site-new"}')).*
     FROM alarms a WHERE alarm_id = 'AL-6'`,
  // Alarms in the 8 hours before a UTC month's first instant, which a rollup month (from 00:00 UTC+8)
  // counts in the next month while the risk map's UTC months and a UTC report count them in this
  // one; at the first instant itself, at the 8 hours' first instant and just before it.
  `INSERT INTO alarms SELECT (jsonb_populate_record(NULL::alarms, to_jsonb(a) || jsonb_build_object('alarm_id', 'AL-edge-' || e.k,
     'recorded_at', e.at))).* FROM alarms a, (SELECT k, (date_trunc('month', now() AT TIME ZONE 'UTC') - back) AT TIME ZONE 'UTC' - before AS at
       FROM (VALUES ('1', interval '2 months', interval '3 hours'), ('2', interval '2 months', interval '0'), ('3', interval '2 months', interval '8 hours'),
                    ('4', interval '2 months', interval '8 hours 1 second'), ('5', interval '3 months', interval '1 hour')) v(k, back, before)) e
     WHERE a.alarm_id = 'AL-8'`,
  // A replayed block upserts its rows again, unchanged.
  `INSERT INTO alarms SELECT * FROM alarms WHERE alarm_id LIKE 'AL-2%'
     ON CONFLICT (alarm_id) DO UPDATE SET response_ms = excluded.response_ms, status = excluded.status`,
  `UPDATE permits SET status = status, record = record WHERE permit_no LIKE 'SYN-3%'`,
  // Permits move on.
  `UPDATE permits SET status = 'active', status_changed_at = now() WHERE status = 'issued' AND permit_no LIKE 'SYN-1%'`,
  `UPDATE permits SET status = 'closed', status_changed_at = now() WHERE status = 'active' AND permit_no LIKE 'SYN-2%'`,
  // Flagged permits move to another site, area and work unit; a flag is withdrawn; a flag is indexed before its permit;
  // two permits carry a flag of the same id (an id is the regulator's, unique within its permit only).
  `UPDATE permits SET site_id = 'site-39', zone_id = 'zone-6', work_unit = 'moved-unit'
    WHERE permit_no IN (SELECT permit_no FROM investigation_flags ORDER BY at DESC LIMIT 3)`,
  `DELETE FROM investigation_flags WHERE flag_id = (SELECT max(flag_id) FROM investigation_flags)`,
  `INSERT INTO investigation_flags (flag_id, permit_no, reason, flagged_by_msp, at, block_number, tx_id)
     VALUES ('F-late', 'SYN-late', 'violation', 'RegulatorMSP', now() - interval '1 day', 1, 'late'),
            ('F-never', 'SYN-never', 'violation', 'RegulatorMSP', now() - interval '1 day', 1, 'never'),
            ('F-late', 'SYN-200', 'violation', 'RegulatorMSP', now() - interval '2 days', 1, 'same id, another permit')`,
  `INSERT INTO permits SELECT (jsonb_populate_record(NULL::permits, to_jsonb(p) || '{"permit_no": "SYN-late", "work_unit": "late-unit"}')).*
     FROM permits p WHERE permit_no = 'SYN-200'`,
];

const NOW = Date.now();
const at = (daysBack: number) => new Date(NOW - daysBack * 86_400_000).toISOString();
const month = (daysBack: number) => at(daysBack).slice(0, 7);

/** Windows: unaligned (30 days, a year, a few hours), on rollup days, and the widest one. */
const WINDOWS: [string, string, string][] = [
  ['last 30 days', at(30), at(0)],
  ['one year', at(365), at(0)],
  ['a few hours', at(2.3), at(2.1)],
  ['whole rollup days', `${at(10).slice(0, 10)}T16:00:00Z`, `${at(3).slice(0, 10)}T16:00:00Z`],
  ['widest', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z'],
];

const REPORTS: [string, string][] = [
  [month(0), 'Asia/Shanghai'],
  [month(20), 'Asia/Shanghai'],
  [month(20), 'UTC'],
  [month(0), 'Europe/Berlin'],
];

/** The figures the rollups replace, grouped from the base tables as before migration 011. */
async function fromBaseTables(pool: pg.Pool, from: string, to: string, bounds: number[]) {
  const q = async (sql: string, params: unknown[] = [from, to]) => (await pool.query(sql, params)).rows as Record<string, unknown>[];
  const num = (v: unknown) => (v == null ? null : Number(v));
  const [alarm] = await q(
    `SELECT avg(response_ms) AS avg_ms, percentile_cont(0.9) WITHIN GROUP (ORDER BY response_ms) AS p90_ms, count(*) AS n,
            count(response_ms) AS responded FROM alarms WHERE recorded_at >= $1 AND recorded_at < $2`,
  );
  const permits = await q(
    `SELECT operation_type, level, ${EFFECTIVE_STATUS} AS status, count(*) AS n FROM permits
      WHERE applied_at >= $1 AND applied_at < $2 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  const grades = await q(
    `SELECT grade, count(*) AS n, avg(response_ms) AS avg_ms FROM alarms WHERE recorded_at >= $1 AND recorded_at < $2 GROUP BY 1 ORDER BY 1`,
  );
  const daily = async (table: string, col: string) =>
    q(
      `SELECT width_bucket(extract(epoch FROM ${col})::float8, $3::float8[]) AS day, count(*) AS n FROM ${table}
        WHERE ${col} >= $1 AND ${col} < $2 GROUP BY 1 ORDER BY 1`,
      [from, to, bounds],
    );
  return {
    kpis: {
      averageAlarmResponseSeconds: alarm!.avg_ms == null ? null : Number(alarm!.avg_ms) / 1000,
      p90AlarmResponseSeconds: alarm!.p90_ms == null ? null : Number(alarm!.p90_ms) / 1000,
      alarms: Number(alarm!.n),
      alarmsResponded: Number(alarm!.responded),
    },
    permits: permits.map((r) => ({ operationType: r.operation_type, level: r.level, status: r.status, count: Number(r.n) })),
    alarms: grades.map((r) => ({ grade: Number(r.grade), count: Number(r.n), averageResponseSeconds: r.avg_ms == null ? null : Number(r.avg_ms) / 1000 })),
    dailyPermits: (await daily('permits', 'applied_at')).map((r) => [num(r.day), Number(r.n)]),
    dailyAlarms: (await daily('alarms', 'recorded_at')).map((r) => [num(r.day), Number(r.n)]),
    ...(await trailFromBaseTables(pool, from, to, 'TRUE', [])),
  };
}

/**
 * A report's gas tests, gate checks and evidence of [from, to) counted from their rows, scoped
 * through their permits as before migration 017 (`permits`: conditions on the permit, parameters from $3).
 */
async function trailFromBaseTables(pool: pg.Pool, from: string, to: string, permits: string, params: string[]) {
  const ofScope = `permit_no IN (SELECT permit_no FROM permits WHERE ${permits})`;
  const [r] = (
    await pool.query(
      `SELECT (SELECT count(*) FROM gas_tests WHERE recorded_at >= $1 AND recorded_at < $2 AND ${ofScope}) AS gas,
              (SELECT count(*) FROM gas_tests WHERE NOT passed AND recorded_at >= $1 AND recorded_at < $2 AND ${ofScope}) AS gas_failed,
              (SELECT count(*) FROM gate_checks WHERE at >= $1 AND at < $2 AND ${ofScope}) AS gates,
              (SELECT count(*) FROM gate_checks WHERE NOT passed AND at >= $1 AND at < $2 AND ${ofScope}) AS gates_failed,
              (SELECT count(*) FROM evidence WHERE captured_at >= $1 AND captured_at < $2 AND ${ofScope}) AS evidence`,
      [from, to, ...params],
    )
  ).rows;
  return {
    gasTests: { total: Number(r.gas), failed: Number(r.gas_failed) },
    gateChecks: { total: Number(r.gates), failed: Number(r.gates_failed) },
    evidenceRecords: Number(r.evidence),
  };
}

/**
 * A report's sites as the gateway built them before the database merged them (migration 019): each
 * enterprise's and site's permits applied, and alarms under the owner of their device (a join), by
 * enterprise, then site, in code units. `org`, `site`: a scope, as the report's.
 */
async function sitesFromBaseTables(pool: pg.Pool, from: string, to: string, org: string | null = null, site: string | null = null) {
  const rows = (
    await pool.query(
      `SELECT org_msp, site_id, sum(p)::int AS p, sum(a)::int AS a FROM (
         SELECT org_msp, site_id, 1 AS p, 0 AS a FROM permits
          WHERE applied_at >= $1 AND applied_at < $2 AND ($3::text IS NULL OR org_msp = $3) AND ($4::text IS NULL OR site_id = $4)
         UNION ALL SELECT coalesce(d.owner_msp, ''), x.site_id, 0, 1 FROM alarms x LEFT JOIN devices d USING (device_id)
          WHERE x.recorded_at >= $1 AND x.recorded_at < $2 AND ($3::text IS NULL OR d.owner_msp = $3) AND ($4::text IS NULL OR x.site_id = $4)) u
        GROUP BY 1, 2`,
      [from, to, org, site],
    )
  ).rows as Record<string, unknown>[];
  return rows
    .map((r) => ({ orgMsp: String(r.org_msp), siteId: String(r.site_id), permitsApplied: Number(r.p), alarms: Number(r.a) }))
    .sort((x, y) => (x.orgMsp !== y.orgMsp ? (x.orgMsp < y.orgMsp ? -1 : 1) : x.siteId < y.siteId ? -1 : x.siteId > y.siteId ? 1 : 0));
}

/**
 * The KPIs' window figures migration 013 replaced, grouped from the base tables as before it: alarms
 * per recording enterprise and site, the repeat-violation rate and trend through the flags' permits,
 * and permits by type and state.
 */
async function windowFromBaseTables(pool: pg.Pool, from: string, to: string) {
  const q = async (sql: string, params: unknown[] = [from, to]) => (await pool.query(sql, params)).rows as Record<string, unknown>[];
  const sites = await q(
    `SELECT recorded_by_msp AS org_msp, site_id, count(*) AS n, sum(response_ms) AS ms, count(response_ms) AS responded FROM alarms
      WHERE recorded_at >= $1 AND recorded_at < $2 GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  const violations = `WITH v AS (
       SELECT p.work_unit, f.at FROM investigation_flags f JOIN permits p USING (permit_no) WHERE f.at >= $1 AND f.at < $2
       UNION ALL
       SELECT work_unit, status_changed_at FROM permits WHERE suspension_reason = 'violation' AND status_changed_at >= $1 AND status_changed_at < $2)`;
  const [rate] = await q(
    `${violations} SELECT count(*) AS units, count(*) FILTER (WHERE n > 1) AS repeats FROM (SELECT work_unit, count(*) AS n FROM v GROUP BY 1) x`,
  );
  const trend = await q(
    `${violations} SELECT month, count(*) AS units, count(*) FILTER (WHERE n > 1) AS repeats
       FROM (SELECT to_char(date_trunc('month', at AT TIME ZONE 'UTC'), 'YYYY-MM') AS month, work_unit, count(*) AS n FROM v GROUP BY 1, 2) x
      GROUP BY 1 ORDER BY 1`,
  );
  const types = await q(`SELECT operation_type, ${EFFECTIVE_STATUS} AS status, count(*) AS n FROM permits GROUP BY 1, 2 ORDER BY 1, 2`, []);
  const ratio = (u: number, r: number) => (u ? r / u : null);
  return {
    alarmsBySite: sites.map((r) => ({
      orgMsp: String(r.org_msp),
      siteId: String(r.site_id),
      alarms: Number(r.n),
      averageAlarmResponseSeconds: Number(r.responded) ? Number(r.ms) / Number(r.responded) / 1000 : null,
    })),
    repeatViolationRate: {
      workUnitsWithViolations: Number(rate!.units),
      workUnitsWithRepeats: Number(rate!.repeats),
      ratio: ratio(Number(rate!.units), Number(rate!.repeats)),
    },
    repeatViolationTrend: trend.map((r) => ({
      month: String(r.month),
      workUnitsWithViolations: Number(r.units),
      workUnitsWithRepeats: Number(r.repeats),
      ratio: ratio(Number(r.units), Number(r.repeats)),
    })),
    permitsByTypeAndState: types.map((r) => ({ operationType: String(r.operation_type), status: String(r.status), count: Number(r.n) })),
  };
}

const windowFigures = (k: Kpis) => ({
  alarmsBySite: k.bySite
    .filter((x) => x.alarms > 0)
    .map(({ orgMsp, siteId, alarms, averageAlarmResponseSeconds }) => ({ orgMsp, siteId, alarms, averageAlarmResponseSeconds }))
    .sort((a, b) => (a.orgMsp + a.siteId < b.orgMsp + b.siteId ? -1 : 1)),
  repeatViolationRate: k.repeatViolationRate,
  repeatViolationTrend: k.repeatViolationTrend,
  permitsByTypeAndState: k.permitsByTypeAndState,
});

/** The risk map's cells as the one answer before pages: every alarm and violation of the window grouped by site (and area) and month. */
async function riskFromBaseTables(pool: pg.Pool, from: string, to: string, byArea: boolean, org: string | null, site: string | null) {
  const rows = (
    await pool.query(
      `WITH a AS (SELECT site_id, area_id, recorded_at AS at, 1 AS alarm, 0 AS violation FROM alarms
                   WHERE recorded_at >= $1 AND recorded_at < $2 AND ($3::text IS NULL OR recorded_by_msp = $3)
                  UNION ALL
                  SELECT p.site_id, p.zone_id, f.at, 0, 1 FROM investigation_flags f JOIN permits p USING (permit_no)
                   WHERE f.at >= $1 AND f.at < $2 AND ($3::text IS NULL OR p.org_msp = $3)
                  UNION ALL
                  SELECT site_id, zone_id, status_changed_at, 0, 1 FROM permits
                   WHERE suspension_reason = 'violation' AND status_changed_at >= $1 AND status_changed_at < $2 AND ($3::text IS NULL OR org_msp = $3))
       SELECT site_id, ${byArea ? 'area_id' : 'NULL'} AS area_id, to_char(date_trunc('month', at AT TIME ZONE 'UTC'), 'YYYY-MM') AS month,
              sum(alarm) AS alarms, sum(violation) AS violations
         FROM a WHERE $4::text IS NULL OR site_id = $4 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [from, to, org, site],
    )
  ).rows as Record<string, unknown>[];
  return rows.map((r) => riskCell(r, byArea));
}

/** The risk map's violations per work unit and month (UTC), grouped from the flags joined to their permits. */
async function workUnitsFromBaseTables(pool: pg.Pool, from: string, to: string, org: string | null) {
  const rows = (
    await pool.query(
      `WITH v AS (SELECT p.work_unit, f.at FROM investigation_flags f JOIN permits p USING (permit_no)
                   WHERE f.at >= $1 AND f.at < $2 AND ($3::text IS NULL OR p.org_msp = $3)
                  UNION ALL
                  SELECT work_unit, status_changed_at FROM permits
                   WHERE suspension_reason = 'violation' AND status_changed_at >= $1 AND status_changed_at < $2 AND ($3::text IS NULL OR org_msp = $3))
       SELECT work_unit, to_char(date_trunc('month', at AT TIME ZONE 'UTC'), 'YYYY-MM') AS month, count(*) AS n FROM v GROUP BY 1, 2 ORDER BY 1, 2`,
      [from, to, org],
    )
  ).rows as Record<string, unknown>[];
  return rows.map((r) => ({ workUnit: String(r.work_unit), month: String(r.month), violations: Number(r.n) }));
}

/** Every page of the park's (or an enterprise's) risk map, `limit` sites each, checked to follow one another. */
async function allRiskPages(repo: RegulatorRepository, from: string, to: string, limit: number, org?: string) {
  const sites: string[] = [];
  const cells: Awaited<ReturnType<RegulatorRepository['riskMap']>>['cells'] = [];
  let after: string | null = null;
  let pages = 0;
  do {
    const page: Awaited<ReturnType<RegulatorRepository['riskMap']>> = await repo.riskMap(from, to, { after, limit }, org);
    expect(page.sites.length, 'a page holds at most limit sites').to.be.at.most(limit);
    if (page.nextCursor !== null) expect(page.sites.length, 'only the last page is short').to.equal(limit);
    for (const c of page.cells) expect(page.sites, `cell of ${c.siteId} on its own site's page`).to.include(c.siteId);
    sites.push(...page.sites);
    cells.push(...page.cells);
    after = page.nextCursor;
    pages++;
  } while (after !== null);
  expect(new Set(sites).size, 'no site on two pages').to.equal(sites.length);
  return { sites, cells, pages };
}

/** The KPIs' figures "now" as read from every worker and certificate before migration 012. */
async function nowFromBaseTables(pool: pg.Pool) {
  const [r] = (
    await pool.query(
      `SELECT (SELECT count(*) FROM workers WHERE status = 'active') AS active,
              (SELECT count(*) FROM workers w WHERE w.status = 'active' AND EXISTS (SELECT 1 FROM certificates c WHERE c.worker_id = w.worker_id
                 AND c.status = 'valid' AND c.valid_from <= now() AND c.valid_until > now() AND c.review_due > now())) AS covered,
              (SELECT count(*) FROM certificates c WHERE c.status = 'valid' AND c.review_due < now()
                 AND EXISTS (SELECT 1 FROM workers w WHERE w.worker_id = c.worker_id)) AS overdue,
              (SELECT count(*) FROM certificates c WHERE c.status = 'valid' AND c.valid_until >= now() AND c.valid_until < now() + interval '60 days'
                 AND EXISTS (SELECT 1 FROM workers w WHERE w.worker_id = c.worker_id)) AS expiring`,
    )
  ).rows as Record<string, unknown>[];
  const live = LIVE_PERMIT_STATUSES.map((x) => `'${x}'`).join(', ');
  const sites = (
    await pool.query(
      `SELECT org_msp, site_id, count(*) AS permits, count(*) FILTER (WHERE ${EFFECTIVE_STATUS} IN (${live})) AS live
         FROM permits GROUP BY 1, 2 ORDER BY 1, 2`,
    )
  ).rows as Record<string, unknown>[];
  const active = Number(r!.active);
  return {
    permitsBySite: sites.map((x) => ({ orgMsp: String(x.org_msp), siteId: String(x.site_id), permits: Number(x.permits), livePermits: Number(x.live) })),
    trainingCoverage: { activeWorkers: active, coveredWorkers: Number(r!.covered), ratio: active ? Number(r!.covered) / active : null },
    overdueReviews: Number(r!.overdue),
    certificatesExpiringWithin60Days: Number(r!.expiring),
  };
}

const nowFigures = (k: Kpis) => ({
  permitsBySite: k.bySite
    .filter((x) => x.permits > 0)
    .map(({ orgMsp, siteId, permits, livePermits }) => ({ orgMsp, siteId, permits, livePermits }))
    .sort((a, b) => (a.orgMsp + a.siteId < b.orgMsp + b.siteId ? -1 : 1)),
  trainingCoverage: k.trainingCoverage,
  overdueReviews: k.overdueReviews,
  certificatesExpiringWithin60Days: k.certificatesExpiringWithin60Days,
});

/**
 * What the indexer does to workers and certificates, through the same triggers, with instants
 * that pass while the test runs (`soon`: a few seconds from now), fall on today's part of a
 * rollup day, or sit on the edges of the 60 days.
 */
const soon = (seconds: number) => `now() + interval '${seconds} seconds'`;
const CERTIFICATE_CHANGES = [
  // Revoked, then a replayed block rewrites certificates unchanged.
  `UPDATE certificates SET status = 'revoked' WHERE certificate_id LIKE 'C-1%-1'`,
  `UPDATE certificates SET status = status, scan_sha256 = scan_sha256 WHERE certificate_id LIKE 'C-2%'`,
  `INSERT INTO certificates SELECT * FROM certificates WHERE certificate_id LIKE 'C-3%' ON CONFLICT (certificate_id) DO UPDATE SET status = excluded.status`,
  // Workers leave and come back; one is erased with its certificates left behind; one certificate's worker is not indexed yet.
  `UPDATE workers SET status = 'inactive' WHERE worker_id LIKE 'W-4%'`,
  `UPDATE workers SET status = 'active' WHERE worker_id IN ('W-20', 'W-40')`,
  `DELETE FROM workers WHERE worker_id = 'W-5'`,
  `INSERT INTO certificates (certificate_id, worker_id, category, item, authority, valid_from, valid_until, review_due, status, scan_sha256,
                             added_by_msp, added_at, block_number, tx_id)
     VALUES ('C-orphan', 'W-unknown', 'guardian', 'item', 'authority', now() - interval '1 day', now() + interval '10 days', now() + interval '5 days',
             'valid', 'x', 'E1MSP', now(), 1, 'orphan')`,
  // Overlapping and touching certificates of one worker (one span), and instants that pass during the test.
  ...(
    [
      ['C-6-a', 'W-6', `now() - interval '2 hours'`, `${soon(5)}`, `now() + interval '300 days'`],
      ['C-6-b', 'W-6', `${soon(5)}`, `now() + interval '59 days 23 hours'`, `now() + interval '100 days'`],
      ['C-7-a', 'W-7', `${soon(4)}`, `now() + interval '60 days 1 hour'`, `${soon(6)}`],
      ['C-8-a', 'W-8', `now() - interval '1 year'`, `now() + interval '60 days' - interval '1 minute'`, `now() - interval '1 hour'`],
      ['C-9-a', 'W-9', `now() - interval '1 year'`, `${soon(5)}`, `now() + interval '1 year'`],
    ] as const
  ).map(
    ([id, worker, from, until, review]) =>
      `INSERT INTO certificates (certificate_id, worker_id, category, item, authority, valid_from, valid_until, review_due, status, scan_sha256,
                                 added_by_msp, added_at, block_number, tx_id)
         VALUES ('${id}', '${worker}', 'guardian', 'item', 'authority', ${from}, ${until}, ${review}, 'valid', 'x', 'E1MSP', now(), 1, '${id}')`,
  ),
  `UPDATE certificates SET worker_id = 'W-11' WHERE certificate_id = 'C-10-1'`,
  // Permits go live, end, are replayed, and one live permit's validity ends while the test runs.
  `UPDATE permits SET status = 'suspended', status_changed_at = now() WHERE status = 'active' AND permit_no LIKE 'SYN-4%'`,
  `UPDATE permits SET status = 'closed', status_changed_at = now() WHERE status = 'suspended' AND permit_no LIKE 'SYN-5%'`,
  `UPDATE permits SET status = status, record = record WHERE permit_no LIKE 'SYN-6%'`,
  `UPDATE permits SET status = 'active', valid_until = ${soon(5)} WHERE permit_no = 'SYN-7'`,
];

const kpiFigures = (k: { averageAlarmResponseSeconds: unknown; p90AlarmResponseSeconds: unknown; alarms: unknown; alarmsResponded: unknown }) => ({
  averageAlarmResponseSeconds: k.averageAlarmResponseSeconds,
  p90AlarmResponseSeconds: k.p90AlarmResponseSeconds,
  alarms: k.alarms,
  alarmsResponded: k.alarmsResponded,
});

interface Mirror {
  url: string;
  close(): Promise<void>;
}

async function postgresMirror(): Promise<Mirror> {
  const url = await createDatabase('gw_rollups');
  await syntheticPermits(url, PERMITS, { orgs: 5, sites: 40 });
  return { url, close: () => dropDatabase(url) };
}

/** An in-memory PGlite migrated by the indexer's code and served over the indexer's socket, one connection at a time. */
async function pgliteMirror(): Promise<Mirror> {
  const { db, pglite } = openDatabase({ pgliteDir: 'memory' });
  await migrate(db);
  const socket: PgliteSocket = await startPgliteSocket(pglite!.instance, pglite!.lock, '127.0.0.1', 0);
  const url = `postgres://postgres@127.0.0.1:${socket.port}/postgres`;
  await syntheticPermits(url, PERMITS, { orgs: 5, sites: 40, migrated: true });
  return {
    url,
    async close() {
      await socket.close();
      await (db as Knex).destroy();
    },
  };
}

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`gateway: whole-park figures from the day rollups equal the base tables' (${kind})`, function () {
    this.timeout(600_000);
    let mirror: Mirror | undefined;
    let pool: pg.Pool;
    let repo: RegulatorRepository;

    before(async function () {
      if (kind === 'postgres' && !databaseUrl()) {
        this.test!.title += ' (skipped: TEST_DATABASE_URL is not set)';
        this.skip();
      }
      mirror = kind === 'postgres' ? await postgresMirror() : await pgliteMirror();
      await syntheticSurroundings(mirror.url, PERMITS, { orgs: 5, sites: 40 });
      // The trail of one permit in twenty: through migration 017's triggers, each row is slow on PGlite.
      await syntheticTrail(mirror.url, PERMITS, { orgs: 5, every: 20 });
      const c = new pg.Client({ connectionString: mirror.url });
      await c.connect();
      try {
        for (const sql of CHANGES) await c.query(sql);
      } finally {
        await c.end();
      }
      // PGlite's socket serves one connection: the pool holds one, as the gateway's does in `npm start`.
      pool = new pg.Pool({ connectionString: mirror.url, max: 1 });
      // The teardown drops the database WITH (FORCE): a connection pool.end() has just closed can
      // still receive the server's "terminating connection" (seen twice under load, uncaught).
      pool.on('error', () => undefined);
      repo = new RegulatorRepository(pool, 1);
    });
    after(async () => {
      await pool?.end();
      await mirror?.close();
    });

    it('the synthetic mirror has acknowledged, unacknowledged and deleted alarms and permits that read expired by their clock', async () => {
      const [r] = (
        await pool.query(`SELECT (SELECT count(response_ms) FROM alarms) AS responded, (SELECT count(*) FROM alarms WHERE response_ms IS NULL) AS silent,
                                 (SELECT count(*) FROM alarms WHERE alarm_id = 'AL-7') AS deleted,
                                 (SELECT count(*) FROM permits WHERE ${EFFECTIVE_STATUS} = 'expired' AND status <> 'expired') AS expired_by_clock,
                                 (SELECT count(*) FROM permit_days WHERE n = 0) AS emptied_counters`)
      ).rows;
      expect(Number(r.responded)).to.be.greaterThan(1000);
      expect(Number(r.silent)).to.be.greaterThan(0);
      expect(Number(r.deleted)).to.equal(0);
      expect(Number(r.expired_by_clock)).to.be.greaterThan(0);
      expect(Number(r.emptied_counters), 'permits that changed status left counters at 0').to.be.greaterThan(0);
    });

    it("KPIs of a month before any record: no alarm and null response times (the p90's statement has no row), the figures of now as ever", async () => {
      const [from, to] = ['2001-02-01T00:00:00Z', '2001-03-01T00:00:00Z'];
      const kpis = await repo.kpis(from, to);
      expect(kpiFigures(kpis)).to.deep.equal({ averageAlarmResponseSeconds: null, p90AlarmResponseSeconds: null, alarms: 0, alarmsResponded: 0 });
      expect(kpiFigures(kpis)).to.deep.equal((await fromBaseTables(pool, from, to, [])).kpis);
      const now = await repo.kpis(at(30), at(0));
      expect([kpis.trainingCoverage, kpis.overdueReviews, kpis.certificatesExpiringWithin60Days]).to.deep.equal([
        now.trainingCoverage,
        now.overdueReviews,
        now.certificatesExpiringWithin60Days,
      ]);
      expect(kpis.trainingCoverage.activeWorkers, 'the mirror holds workers').to.be.greaterThan(0);
    });

    for (const [name, from, to] of WINDOWS) {
      it(`KPIs over ${name}: alarms, acknowledged, average and p90 response as from the alarms`, async () => {
        const base = await fromBaseTables(pool, from, to, []);
        const kpis = await repo.kpis(from, to);
        expect(kpiFigures(kpis)).to.deep.equal(base.kpis);
        if (name !== 'a few hours') expect(kpis.alarms, 'the window holds alarms').to.be.greaterThan(0);
      });

      it(`KPIs over ${name}: alarms per enterprise and site, repeat violations and permits by type and state as from the base tables`, async () => {
        const base = await windowFromBaseTables(pool, from, to);
        const kpis = await repo.kpis(from, to);
        expect(windowFigures(kpis)).to.deep.equal(base);
        if (name !== 'a few hours') {
          expect(base.alarmsBySite.length, 'the window holds alarms at several sites').to.be.greaterThan(5);
          expect(base.repeatViolationRate.workUnitsWithViolations, 'the window holds violations').to.be.greaterThan(0);
        }
        const perOrg = new Map<string, number>();
        for (const x of base.alarmsBySite) perOrg.set(x.orgMsp, (perOrg.get(x.orgMsp) ?? 0) + x.alarms);
        expect(new Map(kpis.byEnterprise.filter((e) => e.alarms > 0).map((e) => [e.orgMsp, e.alarms]))).to.deep.equal(perOrg);
      });
    }

    it("migration 015's running totals: each site's alarms up to the end of every day of its span, and its span's totals", async () => {
      const map = async (sql: string) => Object.fromEntries((await pool.query(sql)).rows.map((r: Record<string, unknown>) => [String(r.k), String(r.v)]));
      const totals = await map(
        `SELECT day || '|' || org_msp || '|' || site_id AS k, concat_ws('|', n, responded, response_ms) AS v FROM alarm_site_running_totals`,
      );
      const base = await map(
        `SELECT (s.first_day + i) || '|' || s.org_msp || '|' || s.site_id AS k,
                concat_ws('|', count(a.alarm_id), count(a.response_ms), coalesce(sum(a.response_ms), 0)) AS v
           FROM alarm_site_spans s CROSS JOIN LATERAL generate_series(0, s.last_day - s.first_day) i
           LEFT JOIN alarms a ON a.recorded_by_msp = s.org_msp AND a.site_id = s.site_id AND rollup_day(a.recorded_at) <= s.first_day + i
          GROUP BY 1`,
      );
      expect(Object.keys(totals).length, 'a row for every day of every span').to.be.greaterThan(40 * 20);
      expect(totals).to.deep.equal(base);
      const spans = await map(`SELECT org_msp || '|' || site_id AS k, concat_ws('|', n, responded, response_ms) AS v FROM alarm_site_spans`);
      const spansBase = await map(
        `SELECT recorded_by_msp || '|' || site_id AS k, concat_ws('|', count(*), count(response_ms), coalesce(sum(response_ms), 0)) AS v
           FROM alarms GROUP BY 1`,
      );
      // A site whose alarms all moved or were deleted keeps its span at zero; every site holding alarms matches.
      expect(Object.fromEntries(Object.entries(spans).filter(([k, v]) => k in spansBase || v !== '0|0|0'))).to.deep.equal(spansBase);
      expect(spans, "a site's first alarm opened its span").to.have.property('E1MSP|site-new');
      // A span holds its site's alarms' days (deleting the last alarm does not shrink it: the rows after read the same totals).
      const [outside] = (
        await pool.query(`SELECT count(*) AS n FROM alarms a JOIN alarm_site_spans s ON s.org_msp = a.recorded_by_msp AND s.site_id = a.site_id
                           WHERE rollup_day(a.recorded_at) NOT BETWEEN s.first_day AND s.last_day`)
      ).rows;
      expect(Number(outside.n)).to.equal(0);
    });

    it('migrations 013 and 015: flags, month counters, type counters and running totals: each broken row shows in the figures', async () => {
      const [from, to] = [WINDOWS[4]![1], WINDOWS[4]![2]];
      const [r] = (
        await pool.query(`SELECT (SELECT count(*) FROM violation_flags WHERE flag_id = 'F-late' AND work_unit = 'late-unit') AS late,
                                 (SELECT count(*) FROM violation_flags WHERE flag_id = 'F-never') AS never,
                                 (SELECT count(*) FROM violation_flags WHERE flag_id = 'F-late') AS same_id,
                                 (SELECT count(*) FROM violation_flags
                                   WHERE work_unit = 'moved-unit' AND site_id = 'site-39' AND flag_id <> 'F-late') AS moved`)
      ).rows;
      expect(
        [Number(r.late), Number(r.never), Number(r.same_id), Number(r.moved)],
        'late permit, unindexed permit, one id on two permits, moved permits',
      ).to.deep.equal([1, 0, 2, 3]);
      const report = async () => {
        const window = monthWindow(month(0), 'Asia/Shanghai');
        return (await repo.monthlyReport(window)).sites.filter((x) => x.permitsApplied > 0).map((x) => [x.orgMsp, x.siteId, x.permitsApplied]);
      };
      const reportBase = async () => {
        const window = monthWindow(month(0), 'Asia/Shanghai');
        const rows = (
          await pool.query(
            `SELECT org_msp, site_id, count(*) AS n FROM permits WHERE applied_at >= $1 AND applied_at < $2 GROUP BY 1, 2 ORDER BY org_msp || site_id`,
            [window.from, window.to],
          )
        ).rows as Record<string, unknown>[];
        return rows.map((x) => [String(x.org_msp), String(x.site_id), Number(x.n)]);
      };
      expect(await report(), "the park report's permits per site").to.deep.equal(await reportBase());
      expect(windowFigures(await repo.kpis(from, to))).to.deep.equal(await windowFromBaseTables(pool, from, to));
      // A row of migration 015's running totals that the last 30 days read: the day before the window's
      // first whole day, of a site with alarms after it.
      const [last30From, last30To] = [WINDOWS[0]![1], WINDOWS[0]![2]];
      const last30 = () => repo.kpis(last30From, last30To).then(windowFigures);
      const last30Base = () => windowFromBaseTables(pool, last30From, last30To);
      const [one] = (
        await pool.query(
          `SELECT t.day::text AS day, t.org_msp, t.site_id FROM alarm_site_running_totals t JOIN alarm_site_spans s USING (org_msp, site_id)
            WHERE t.day = rollup_day($1::timestamptz) AND s.last_day > t.day AND t.n > 0 ORDER BY 2, 3 LIMIT 1`,
          [last30From],
        )
      ).rows;
      const [span] = (await pool.query('SELECT org_msp, site_id FROM alarm_site_spans WHERE n > 0 ORDER BY 1, 2 LIMIT 1')).rows;
      // A month row of migration 013, read by the KPIs of a window of whole months (the monthly report's).
      const thisMonth = monthWindow(month(0), 'Asia/Shanghai');
      const monthKpis = () => repo.kpis(thisMonth.from, thisMonth.to).then(windowFigures);
      const monthBase = () => windowFromBaseTables(pool, thisMonth.from, thisMonth.to);
      const [monthRow] = (
        await pool.query(
          `SELECT month::text AS month, org_msp, site_id FROM alarm_site_months
                           WHERE month = rollup_day($1::timestamptz) AND n > 0 ORDER BY 2, 3 LIMIT 1`,
          [thisMonth.from],
        )
      ).rows;
      const [ps] = (await pool.query(`SELECT month, org_msp, site_id FROM permit_site_months WHERE n > 0 ORDER BY month DESC, org_msp, site_id LIMIT 1`)).rows;
      const broken: [string, string, string, () => Promise<unknown>, () => Promise<unknown>][] = [
        ['alarm_site_months', 'n = n + 1', 'n = n - 1', monthKpis, monthBase],
        ['alarm_site_running_totals', 'n = n + 1', 'n = n - 1', last30, last30Base],
        [
          'alarm_site_spans',
          'response_ms = response_ms + 1',
          'response_ms = response_ms - 1',
          () => repo.kpis(from, to).then(windowFigures),
          () => windowFromBaseTables(pool, from, to),
        ],
        ['permit_type_counts', 'n = n + 1', 'n = n - 1', () => repo.kpis(from, to).then(windowFigures), () => windowFromBaseTables(pool, from, to)],
        [
          'violation_flags',
          `work_unit = 'x' || work_unit`,
          'work_unit = substr(work_unit, 2)',
          () => repo.kpis(from, to).then(windowFigures),
          () => windowFromBaseTables(pool, from, to),
        ],
        ['permit_site_months', 'n = n + 1', 'n = n - 1', report, reportBase],
      ];
      const which: Record<string, [string, unknown[]]> = {
        alarm_site_months: ['month = $1 AND org_msp = $2 AND site_id = $3', [monthRow.month, monthRow.org_msp, monthRow.site_id]],
        alarm_site_running_totals: ['day = $1 AND org_msp = $2 AND site_id = $3', [one.day, one.org_msp, one.site_id]],
        alarm_site_spans: ['org_msp = $1 AND site_id = $2', [span.org_msp, span.site_id]],
        permit_type_counts: [`(operation_type, status) = (SELECT operation_type, status FROM permit_type_counts WHERE n > 0 ORDER BY 1, 2 LIMIT 1)`, []],
        violation_flags: [`flag_id = (SELECT min(flag_id) FROM violation_flags)`, []],
        permit_site_months: ['month = $1 AND org_msp = $2 AND site_id = $3', [ps.month, ps.org_msp, ps.site_id]],
      };
      for (const [table, breakIt, mend, figures, base] of broken) {
        const [where, params] = which[table]!;
        await pool.query(`UPDATE ${table} SET ${breakIt} WHERE ${where}`, params);
        try {
          expect(await figures(), `${table} broken`).to.not.deep.equal(await base());
        } finally {
          await pool.query(`UPDATE ${table} SET ${mend} WHERE ${where}`, params);
        }
        expect(await figures(), `${table} mended`).to.deep.equal(await base());
      }
    });

    for (const [name, from, to] of WINDOWS.filter(([n]) => n !== 'a few hours')) {
      it(`risk map over ${name}: its pages of sites, an enterprise's pages and one site's areas hold the cells grouped from the base tables`, async () => {
        const park = await allRiskPages(repo, from, to, 7);
        const base = await riskFromBaseTables(pool, from, to, false, null, null);
        expect(base.length, 'the window holds alarms').to.be.greaterThan(0);
        expect(park.pages, 'the park takes several pages').to.be.greaterThan(2);
        expect(park.cells).to.deep.equal(base);
        // Every site with cells is listed; listed sites without cells had nothing in the window.
        expect(park.sites).to.include.members([...new Set(base.map((c) => c.siteId))]);
        const everySite = await pool.query<{ site_id: string }>('SELECT site_id FROM permits UNION SELECT site_id FROM alarms ORDER BY 1');
        expect(park.sites, 'the pages list every site with any permit or alarm, in order').to.deep.equal(everySite.rows.map((r) => r.site_id));
        const org = 'E1MSP';
        const own = await allRiskPages(repo, from, to, 3, org);
        const ownBase = await riskFromBaseTables(pool, from, to, false, org, null);
        expect(ownBase.length, "the enterprise's window holds alarms").to.be.greaterThan(0);
        expect(own.cells).to.deep.equal(ownBase);
        expect(own.sites, "an enterprise's pages list only its sites with cells").to.deep.equal([...new Set(ownBase.map((c) => c.siteId))]);
        const site = base[base.length - 1]!.siteId;
        const areas = await repo.riskMap(from, to, { site });
        expect(areas.nextCursor).to.equal(null);
        expect(areas.cells).to.deep.equal(await riskFromBaseTables(pool, from, to, true, null, site));
        const units = await workUnitsFromBaseTables(pool, from, to, null);
        expect(units.length, 'the window holds violations').to.be.greaterThan(0);
        expect(await repo.violationsByWorkUnit(from, to)).to.deep.equal(units);
        expect(await repo.violationsByWorkUnit(from, to, org)).to.deep.equal(await workUnitsFromBaseTables(pool, from, to, org));
      });
    }

    it('KPIs now (training coverage, overdue reviews, certificates expiring): the counters equal every worker and certificate read', async () => {
      const kpis = await repo.kpis(at(30), at(0));
      const base = await nowFromBaseTables(pool);
      expect(nowFigures(kpis)).to.deep.equal(base);
      expect(base.trainingCoverage.coveredWorkers, 'some workers are covered').to.be.greaterThan(0);
      expect(base.trainingCoverage.coveredWorkers, 'some are not').to.be.lessThan(base.trainingCoverage.activeWorkers);
      expect(base.overdueReviews).to.be.greaterThan(0);
      expect(base.certificatesExpiringWithin60Days).to.be.greaterThan(0);
    });

    it('KPIs now after certificate and worker changes, replays, and instants passing; a broken counter shows', async () => {
      // Through the pool: PGlite's socket serves one connection, the pool's.
      for (const sql of CERTIFICATE_CHANGES) await pool.query(sql);
      const before = await nowFromBaseTables(pool);
      expect(nowFigures(await repo.kpis(at(30), at(0)))).to.deep.equal(before);
      // The certificates' instants 4–6 s ahead pass: starts, expiries and review dates. (At 1–3 s ahead
      // the first comparison failed once on a loaded machine: an instant passed between its two reads.)
      await new Promise((r) => setTimeout(r, 7000));
      const after = await nowFromBaseTables(pool);
      expect(after, 'the passing instants changed the figures').to.not.deep.equal(before);
      expect(nowFigures(await repo.kpis(at(30), at(0)))).to.deep.equal(after);
      // An enterprise's coverage probes its workers' merged spans: as from its workers' certificates.
      const [own] = (
        await pool.query(`SELECT count(*) AS active, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM certificates c WHERE c.worker_id = w.worker_id
                            AND c.status = 'valid' AND c.valid_from <= now() AND c.valid_until > now() AND c.review_due > now())) AS covered
                            FROM workers w WHERE w.status = 'active' AND w.registered_by_msp = 'E1MSP'`)
      ).rows;
      const ownKpis = (await repo.kpis(at(30), at(0), 'E1MSP')).trainingCoverage;
      expect([ownKpis.activeWorkers, ownKpis.coveredWorkers], "one enterprise's coverage").to.deep.equal([Number(own.active), Number(own.covered)]);
      expect(Number(own.covered), 'some of its workers are covered').to.be.greaterThan(0);
      // One counter off by one (the oldest day's coverage starts, one site's live permits) must fail the comparison.
      for (const [table, where] of [
        ['coverage_start_days', 'day = (SELECT min(day) FROM coverage_start_days)'],
        ['permit_site_counts', `site_id = 'site-3'`],
      ]) {
        const column = table === 'permit_site_counts' ? 'live' : 'n';
        await pool.query(`UPDATE ${table} SET ${column} = ${column} + 1 WHERE ${where}`);
        try {
          expect(nowFigures(await repo.kpis(at(30), at(0))), table).to.not.deep.equal(await nowFromBaseTables(pool));
        } finally {
          await pool.query(`UPDATE ${table} SET ${column} = ${column} - 1 WHERE ${where}`);
        }
      }
      expect(nowFigures(await repo.kpis(at(30), at(0)))).to.deep.equal(await nowFromBaseTables(pool));
    });

    it("the alarm listing's response statistics are those of the newest matching alarms, COUNT_CAP at most, as computed here", async () => {
      /** percentile_cont: linear interpolation between the closest ranks. */
      const percentile = (sorted: number[], p: number) => {
        if (sorted.length === 0) return null;
        const pos = p * (sorted.length - 1);
        const lo = Math.floor(pos);
        return sorted[lo]! + (sorted[Math.ceil(pos)]! - sorted[lo]!) * (pos - lo);
      };
      const check = async (label: string, filter: { site?: string; grade?: number; status?: string }, expectCapped: boolean) => {
        const listed = (await repo.listAlarms({ ...filter, limit: 20, offset: 0 })) as Record<string, any>;
        const where = Object.keys(filter).map((k, i) => `${k === 'site' ? 'site_id' : k} = $${i + 1}`);
        const rows = (
          await pool.query(
            `SELECT alarm_id, response_ms FROM alarms ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY recorded_at DESC, alarm_id`,
            Object.values(filter),
          )
        ).rows as { alarm_id: string; response_ms: string | null }[];
        const newest = rows.slice(0, COUNT_CAP);
        const ms = newest.filter((r) => r.response_ms !== null).map((r) => Number(r.response_ms));
        const sorted = [...ms].sort((a, b) => a - b);
        expect([listed.total, listed.totalIsExact], `${label}: total`).to.deep.equal([Math.min(rows.length, COUNT_CAP), rows.length <= COUNT_CAP]);
        expect(listed.totalIsExact, `${label}: capped`).to.equal(!expectCapped);
        expect(
          listed.items.map((r: { alarmId: string }) => r.alarmId),
          `${label}: the page`,
        ).to.deep.equal(rows.slice(0, 20).map((r) => r.alarm_id));
        const rt = listed.responseTime;
        expect(rt.responded, `${label}: responded`).to.equal(ms.length);
        expect(ms.length, `${label}: some responded`).to.be.greaterThan(0);
        const average = ms.reduce((a, b) => a + b, 0) / ms.length / 1000;
        expect(rt.averageSeconds, `${label}: average`).to.be.closeTo(average, 1e-9);
        expect(rt.p50Seconds, `${label}: p50`).to.be.closeTo(percentile(sorted, 0.5)! / 1000, 1e-9);
        expect(rt.p90Seconds, `${label}: p90`).to.be.closeTo(percentile(sorted, 0.9)! / 1000, 1e-9);
      };
      // Response times spread out, so that the percentiles differ from one alarm to the next.
      await pool.query(`UPDATE alarms SET response_ms = response_ms + (hashtext(alarm_id) & 65535) WHERE response_ms IS NOT NULL`);
      await check('every alarm', {}, false);
      await check('one site', { site: 'site-3' }, false);
      await check('grade 1', { grade: 1 }, false);
      await check('closed', { status: 'closed' }, false);
      // More alarms than the cap, the copies older than every alarm: the statistics leave the oldest out.
      // On PostgreSQL only: the statement is the same on PGlite, where writing 7,000 alarms through
      // the rollups' triggers takes a quarter of a minute.
      if (kind !== 'postgres') return;
      const [{ n }] = (await pool.query('SELECT count(*)::int AS n FROM alarms')).rows;
      const copies = COUNT_CAP + 500 - n;
      await pool.query(
        `INSERT INTO alarms SELECT (jsonb_populate_record(NULL::alarms, to_jsonb(a) || jsonb_build_object('alarm_id', 'AL-copy-' || g,
           'recorded_at', a.recorded_at - interval '400 days', 'response_ms', 1000000 + g))).*
           FROM (SELECT * FROM alarms ORDER BY alarm_id LIMIT 1) a CROSS JOIN generate_series(1, $1::int) g`,
        [copies],
      );
      try {
        await check('every alarm, more than the cap', {}, true);
      } finally {
        await pool.query(`DELETE FROM alarms WHERE alarm_id LIKE 'AL-copy-%'`);
      }
    });

    // PostgreSQL only: the PGlite socket takes one connection, so its reports always run one query
    // after another, which every other report test here covers.
    if (kind === 'postgres')
      it("monthly reports read on several connections in one exported snapshot equal the one connection's", async () => {
        const wide = new pg.Pool({ connectionString: mirror!.url, max: 4 });
        wide.on('error', () => undefined);
        try {
          const concurrent = new RegulatorRepository(wide, 1);
          for (const [m, zone] of REPORTS) {
            for (const scope of [{}, { org: 'E1MSP' }, { site: 'site-3' }]) {
              const window = monthWindow(m, zone);
              expect(await concurrent.monthlyReport(window, scope), `${m} ${zone} ${JSON.stringify(scope)}`).to.deep.equal(
                await repo.monthlyReport(window, scope),
              );
            }
          }
          expect(wide.totalCount, 'the report took more than one connection').to.be.greaterThan(1);
        } finally {
          await wide.end();
        }
      });

    if (kind === 'postgres')
      it('every connection of a report reads the snapshot taken before its first query, not a later commit', async () => {
        const wide = new pg.Pool({ connectionString: mirror!.url, max: 4 });
        wide.on('error', () => undefined);
        type Snapshot = (read: (q: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>) => Promise<unknown>) => Promise<unknown>;
        const concurrent = new RegulatorRepository(wide, 1) as unknown as { snapshot: Snapshot };
        const snapshot = concurrent.snapshot.bind(concurrent);
        const read = `SELECT count(*)::int AS n, pg_backend_pid() AS pid, pg_current_snapshot()::text AS snapshot FROM alarms`;
        // Transactions committing all the while: a connection that took its own snapshot, even a
        // moment after the first, would see a later one.
        let churning = true;
        const churn = (async () => {
          while (churning) await pool.query('SELECT txid_current()');
        })();
        try {
          const seen = (await snapshot(async (q) => {
            const [first] = await q(read, []);
            // Committed by another session after the report's snapshot: no connection of the report may see it.
            await pool.query(
              `INSERT INTO alarms SELECT (jsonb_populate_record(NULL::alarms, to_jsonb(a) || '{"alarm_id": "AL-late"}')).* FROM alarms a LIMIT 1`,
            );
            const rest = await Promise.all([1, 2, 3, 4].map(async () => (await q(`${read}, pg_sleep(0.05)`, []))[0]!));
            return [first!, ...rest];
          })) as { n: number; pid: number; snapshot: string }[];
          expect(new Set(seen.map((r) => r.pid)).size, 'connections the report read on').to.equal(4);
          expect(seen.map((r) => `${r.n} ${r.snapshot}`)).to.deep.equal(seen.map(() => `${seen[0]!.n} ${seen[0]!.snapshot}`));
          expect((await pool.query(`SELECT count(*)::int AS n FROM alarms`)).rows[0].n).to.equal(seen[0]!.n + 1);
        } finally {
          churning = false;
          await churn;
          await pool.query(`DELETE FROM alarms WHERE alarm_id = 'AL-late'`);
          await wide.end();
        }
      });

    for (const [m, zone] of REPORTS) {
      it(`monthly report of the park, ${m} in ${zone}: permits, alarms, each day, KPIs as from the base tables`, async () => {
        const window = monthWindow(m, zone);
        const bounds = [...window.days.map((d) => Date.parse(d.from) / 1000), Date.parse(window.to) / 1000];
        const base = await fromBaseTables(pool, window.from, window.to, bounds);
        const report = await repo.monthlyReport(window);
        expect(report.permits).to.deep.equal(base.permits);
        expect(report.alarms).to.deep.equal(base.alarms);
        expect(kpiFigures(report.kpis)).to.deep.equal(base.kpis);
        const perDay = (key: 'permitsApplied' | 'alarms') => report.daily.map((d, i) => [i + 1, d[key]] as [number, number]).filter(([, n]) => n > 0);
        expect(perDay('permitsApplied')).to.deep.equal(base.dailyPermits);
        expect(perDay('alarms')).to.deep.equal(base.dailyAlarms);
        expect(report.permitsTotal, 'the month holds permits').to.be.greaterThan(0);
        const sites = await sitesFromBaseTables(pool, window.from, window.to);
        expect(report.sites, "each site, its permits and its devices' alarms, in order").to.deep.equal(sites);
        expect(sites.filter((x) => x.alarms > 0).length, 'sites with alarms').to.be.greaterThan(1);
        expect({ gasTests: report.gasTests, gateChecks: report.gateChecks, evidenceRecords: report.evidenceRecords }).to.deep.equal({
          gasTests: base.gasTests,
          gateChecks: base.gateChecks,
          evidenceRecords: base.evidenceRecords,
        });
        expect(
          [base.gasTests.failed, base.gateChecks.failed, base.evidenceRecords],
          'the month holds failed gas tests and gate checks, and evidence',
        ).to.satisfy((ns: number[]) => ns.every((n) => n > 0));
      });
    }

    it("an enterprise's, a site's and both's monthly gas tests, gate checks and evidence equal their permits' rows", async () => {
      // The trail's permits (every twentieth) are at sites 0 and 20 of 40, both E0MSP's: site-3 holds none.
      const scopes: [{ org?: string; site?: string }, string, string[]][] = [
        [{ org: 'E0MSP' }, 'org_msp = $3', ['E0MSP']],
        [{ site: 'site-20' }, 'site_id = $3', ['site-20']],
        [{ org: 'E0MSP', site: 'site-20' }, 'org_msp = $3 AND site_id = $4', ['E0MSP', 'site-20']],
        [{ site: 'site-3' }, 'site_id = $3', ['site-3']],
      ];
      const counted = new Map<string, number>();
      for (const [m, zone] of REPORTS) {
        const window = monthWindow(m, zone);
        for (const [scope, permits, params] of scopes) {
          const report = await repo.monthlyReport(window, scope);
          const base = await trailFromBaseTables(pool, window.from, window.to, permits, params);
          const label = JSON.stringify(scope);
          expect({ gasTests: report.gasTests, gateChecks: report.gateChecks, evidenceRecords: report.evidenceRecords }, `${m} ${zone} ${label}`).to.deep.equal(
            base,
          );
          counted.set(label, (counted.get(label) ?? 0) + base.gasTests.total + base.gateChecks.total + base.evidenceRecords);
          expect(report.sites, `${m} ${zone} ${label}: sites`).to.deep.equal(
            await sitesFromBaseTables(pool, window.from, window.to, scope.org ?? null, scope.site ?? null),
          );
        }
      }
      expect(
        [...counted.values()].map((n) => n > 0),
        'which scopes hold trail rows',
      ).to.deep.equal([true, true, true, false]);
    });
  });
}
