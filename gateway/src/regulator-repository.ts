/**
 * Regulator and auditor reads from the indexer's PostgreSQL mirror (tables of
 * indexer/src/migrations). Every query is parameterised; sort columns come from a fixed list.
 */

import { createHash } from 'node:crypto';
import { EXPIRABLE_PERMIT_STATUSES, LIVE_PERMIT_STATUSES } from '@compliance-ledger/schema';
import type { Pool, PoolClient } from 'pg';
import { NotFoundError, UnavailableError } from './errors.js';
import type { MonthWindow } from './report-calendar.js';

/** Connections a document's snapshot is exported to besides its own (monthly report: about 20 queries). */
const SNAPSHOT_HELPERS = 3;
const BEGIN_SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';
/**
 * How a document's statements are planned, for its transaction only. Their parameters are a
 * window and a scope, and the plan a custom planning finds for one window is the plan of any: a
 * custom plan cost more to make (the KPIs' single figures 4–5 ms) than to run (under 1 ms), and
 * PostgreSQL kept making one because the generic plan's estimate, with ranges of unknown width,
 * looked dearer. That estimate also crossed jit_above_cost, and compiling a plan (50–90 ms) is
 * dearer than running any of them, so JIT is off too (bench/RESULTS.md, 2026-12-06 evening).
 */
const DOCUMENT_PLANNING = 'SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL jit = off';

/** Largest exact `total` a permit listing reports. */
export const COUNT_CAP = 10_000;

export const PERMIT_SORT_COLUMNS = ['applied_at', 'status_changed_at', 'planned_start', 'permit_no', 'valid_until'] as const;

export interface PermitFilter {
  org?: string | undefined;
  site?: string | undefined;
  area?: string | undefined;
  type?: string | undefined;
  level?: string | undefined;
  state?: string[] | undefined;
  from?: string | undefined;
  to?: string | undefined;
  sort: (typeof PERMIT_SORT_COLUMNS)[number];
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
}

export interface AlarmFilter {
  /** MSP id of the enterprise whose device gateway recorded the alarm. */
  org?: string | undefined;
  site?: string | undefined;
  area?: string | undefined;
  grade?: number | undefined;
  status?: string | undefined;
  kind?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  limit: number;
  offset: number;
}

/**
 * A permit's status as it reads now: one whose validity (before issue, its planned window) has
 * ended is expired even before the sweeper's permit:Expire reaches the index, exactly as the
 * chaincode's permit:Get reads it, so no list, timeline or KPI shows it as active.
 */
const PERMIT_END = `coalesce(valid_until, planned_end)`;
const READS_EXPIRED = `(status IN (${EXPIRABLE_PERMIT_STATUSES.map((x) => `'${x}'`).join(', ')}) AND ${PERMIT_END} <= now())`;
export const EFFECTIVE_STATUS = `CASE WHEN ${READS_EXPIRED} THEN 'expired' ELSE status END`;
/**
 * `EFFECTIVE_STATUS = ANY(states)` in a form whose parts the status indexes and the partial index
 * of running permits (migration 010) can answer, instead of computing every row's status.
 */
const effectiveStatusIn = (param: string) => `((status = ANY(${param}) AND NOT ${READS_EXPIRED}) OR ('expired' = ANY(${param}) AND ${READS_EXPIRED}))`;
const EXPIRABLE_LIST = EXPIRABLE_PERMIT_STATUSES.map((x) => `'${x}'`).join(', ');
/**
 * Permits per enterprise, site, operation type and status as they read now: the counters the
 * indexer keeps by recorded status (permit_counts, migration 010), with the permits whose validity
 * ended before anyone recorded permit:Expire moved to expired. Those are found through the partial
 * index of running permits; the reporter's sweeper keeps them few.
 */
const effectiveCounts = (scope: string) => `WITH c AS (SELECT org_msp, site_id, operation_type, status, n FROM permit_counts WHERE ${scope} AND n <> 0),
  x AS (SELECT org_msp, site_id, operation_type, status, count(*) AS n FROM permits
         WHERE status IN (${EXPIRABLE_LIST}) AND ${PERMIT_END} <= now() AND ${scope} GROUP BY 1, 2, 3, 4),
  e AS (SELECT org_msp, site_id, operation_type, status, n FROM c
        UNION ALL SELECT org_msp, site_id, operation_type, status, -n FROM x
        UNION ALL SELECT org_msp, site_id, operation_type, 'expired', n FROM x)
  SELECT org_msp, site_id, operation_type, status, sum(n) AS n FROM e GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0`;
/** effectiveCounts for the whole park, per operation type and status: from permit_type_counts (migration 013). */
const PARK_TYPE_COUNTS = `WITH x AS (SELECT operation_type, status, count(*) AS n FROM permits
         WHERE status IN (${EXPIRABLE_LIST}) AND ${PERMIT_END} <= now() GROUP BY 1, 2)
  SELECT operation_type, status, sum(n) AS n FROM (
    SELECT operation_type, status, n FROM permit_type_counts WHERE n <> 0
    UNION ALL SELECT operation_type, status, -n FROM x
    UNION ALL SELECT operation_type, 'expired', n FROM x) e
  GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2`;
const STATUS_COLUMNS =
  `${EFFECTIVE_STATUS} AS status, status AS recorded_status, ` + `CASE WHEN ${READS_EXPIRED} OR status = 'expired' THEN ${PERMIT_END} END AS expired_at`;

const ALARM_COLUMNS = `alarm_id, device_id, device_kind, site_id, area_id, grade, kind, score_bp, model_version, status, observed_at, recorded_at,
  recorded_by_msp, acknowledged_at, response_ms, closed_at, review_verdict, suspended_permit_nos, tx_id, block_number`;
/** Alarms not closed yet: what a control room still has to act on. */
const OPEN_ALARM = `status <> 'closed'`;

/**
 * Every violation of [$1, $2) with its work unit and time: investigation flags on a permit (with
 * the permit's attributes, migration 013), and permits suspended for a violation; of one
 * enterprise's permits when $3 (an MSP id) is not null.
 */
const VIOLATIONS = `SELECT work_unit, at, site_id, zone_id FROM violation_flags
          WHERE at >= $1 AND at < $2 AND ($3::text IS NULL OR org_msp = $3)
         UNION ALL
         SELECT work_unit, status_changed_at AS at, site_id, zone_id FROM permits
          WHERE suspension_reason = 'violation' AND status_changed_at >= $1 AND status_changed_at < $2 AND ($3::text IS NULL OR org_msp = $3)`;

/**
 * Migration 011's rollup_day and rollup_day_start, written out in each statement: the planner parses
 * and inlines an SQL function's body at every call in every statement it plans, and a KPI statement
 * has up to a dozen calls (planning the per-site statement took 2.4–3.1 ms with them, 1.5–2.0 ms
 * with the expressions written out). The same expressions as the functions' bodies, so the same days.
 */
const rollupDay = (at: string) => `(((${at}) AT TIME ZONE 'UTC') + interval '480 minutes')::date`;
const rollupDayStart = (day: string) => `(((${day}) - interval '480 minutes') AT TIME ZONE 'UTC')`;

/**
 * The window [$1, $2) as whole rollup days (migration 011: days from 00:00 UTC+8, the default
 * report time zone's midnights) and the two edges before the first and after the last whole day,
 * which are read from the base tables. A window inside one day is all edge.
 */
const FROM_DAY = rollupDay('$1::timestamptz');
const FIRST_DAY = `(${FROM_DAY} + (${rollupDayStart(FROM_DAY)} < $1::timestamptz)::int)`;
const END_DAY = rollupDay('$2::timestamptz');
const WHOLE_DAYS = `day >= ${FIRST_DAY} AND day < ${END_DAY}`;
const windowEdges = (col: string): [string, string] => [
  `${col} >= $1 AND ${col} < least(${rollupDayStart(FIRST_DAY)}, $2::timestamptz)`,
  `${col} >= greatest(${rollupDayStart(END_DAY)}, ${rollupDayStart(FIRST_DAY)}) AND ${col} < $2`,
];
/**
 * The window [$1, $2) as whole rollup months (the months of `rollup_day`, migration 013's
 * alarm_site_months) and the two edges before the first and after the last, read from the rows.
 */
const MONTH_OF_FROM = `date_trunc('month', ${FROM_DAY})::date`;
const FIRST_MONTH = `(CASE WHEN ${rollupDayStart(MONTH_OF_FROM)} < $1::timestamptz
  THEN (${MONTH_OF_FROM} + interval '1 month')::date ELSE ${MONTH_OF_FROM} END)`;
const END_MONTH = `date_trunc('month', ${rollupDay('$2::timestamptz')})::date`;
const WHOLE_MONTHS = `month >= ${FIRST_MONTH} AND month < ${END_MONTH}`;
const monthEdges = (col: string): [string, string] => [
  `${col} >= $1 AND ${col} < least(${rollupDayStart(FIRST_MONTH)}, $2::timestamptz)`,
  `${col} >= greatest(${rollupDayStart(END_MONTH)}, ${rollupDayStart(FIRST_MONTH)}) AND ${col} < $2`,
];
/**
 * The whole park's alarms of [$1, $2) as rows per recording enterprise and site to be summed with
 * the permits' rows (columns: enterprise, site, permits, live permits, alarms, sum of response
 * times, acknowledged): the window's whole days as migration 015's running totals at its last
 * whole day less those at the day before its first, two rows a site (a day's row while the day is
 * in the site's span, its total from alarm_site_spans once the span ended before the day, nothing
 * before it began), and the alarms of the partial days at its edges (alarms_window_index covers
 * them). Read before as month rows and the alarms of two partial months: a year was 15,000 rows.
 * Grouped once with the permits' rows, not joined to them: hash joins of a thousand sites' rows on
 * their enterprise and site cost more than the rows themselves. Needs `w` (WINDOW_DAYS).
 */
// Summed as int and float8 (exact for integers below 2^53), not bigint: a bigint sum accumulates
// in numeric, a third of the grouping's time over a year's month rows.
const WINDOW_DAYS = `w AS (SELECT ${END_DAY} - 1 AS hi, ${FIRST_DAY} - 1 AS lo)`;
const PARK_SITE_ALARM_ROWS = [
  ...(['hi', 'lo'] as const).flatMap((day) => {
    const sign = day === 'hi' ? '' : '-';
    return [
      `SELECT t.org_msp, t.site_id, 0, 0, ${sign}t.n::int, ${sign}t.response_ms::float8, ${sign}t.responded::int
         FROM w JOIN alarm_site_running_totals t ON t.day = w.${day} WHERE w.lo < w.hi`,
      `SELECT s.org_msp, s.site_id, 0, 0, ${sign}s.n::int, ${sign}s.response_ms::float8, ${sign}s.responded::int
         FROM w JOIN alarm_site_spans s ON s.last_day < w.${day} WHERE w.lo < w.hi`,
    ];
  }),
  ...windowEdges('recorded_at').map(
    (edge) => `SELECT recorded_by_msp, site_id, 0, 0, 1, coalesce(response_ms, 0)::float8, (response_ms IS NOT NULL)::int FROM alarms WHERE ${edge}`,
  ),
].join('\n    UNION ALL ');
/**
 * The same rows for a window of one or two whole rollup months (a monthly report's in the default
 * zone): migration 013's alarm_site_months, a row per site and month and no edge, fewer rows than
 * the running totals' two.
 */
const PARK_SITE_ALARM_MONTH_ROWS = `SELECT org_msp, site_id, 0, 0, n::int, response_ms::float8, responded::int FROM alarm_site_months WHERE ${WHOLE_MONTHS}`;

/** Migration 011's rollup days start at 00:00 UTC+8 (frozen there); its months are those days' months. */
const ROLLUP_DAY_OFFSET_MS = 480 * 60_000;
/** Whether an instant is a rollup day's first (migration 011's rollup_day_start of some day). */
export function isRollupDayStart(at: string): boolean {
  return (Date.parse(at) + ROLLUP_DAY_OFFSET_MS) % 86_400_000 === 0;
}

/** How many whole rollup months [from, to) is, or undefined when either end is not a rollup month's start. */
export function wholeRollupMonths(from: string, to: string): number | undefined {
  const monthIndex = (at: string) => {
    const shifted = Date.parse(at) + ROLLUP_DAY_OFFSET_MS;
    const d = new Date(shifted);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) === shifted ? d.getUTCFullYear() * 12 + d.getUTCMonth() : undefined;
  };
  const [a, b] = [monthIndex(from), monthIndex(to)];
  return a === undefined || b === undefined ? undefined : b - a;
}

/** Rows of a base table in the window's edges, one SELECT per edge. */
const edgeRows = (select: string, col: string, where = 'TRUE') =>
  windowEdges(col)
    .map((edge) => `${select} WHERE ${edge} AND ${where}`)
    .join(' UNION ALL ');

/**
 * The whole park's alarms of [$1, $2): count, acknowledged, average response, from alarm_days and
 * the edges.
 */
const PARK_ALARMS = `SELECT sum(n) AS n, sum(responded) AS responded, sum(ms)::numeric / nullif(sum(responded), 0) AS avg_ms FROM (
    SELECT sum(n) AS n, sum(responded) AS responded, sum(response_ms) AS ms FROM alarm_days WHERE ${WHOLE_DAYS}
    UNION ALL ${edgeRows('SELECT count(*), count(response_ms), sum(response_ms) FROM alarms', 'recorded_at')}) x`;

/**
 * The two response times around the p90 of the whole park's acknowledged alarms of [$1, $2), as
 * percentile_cont ranks them: the histogram (alarm_response_days and the edges) says which
 * buckets hold ranks floor and ceil of 0.9 × (n − 1); only the window's alarms of those buckets are
 * read, and only up to the second of the two ranks kept in order (a bounded sort, not a rank of
 * every alarm of those buckets; alarms_response_bucket_index). Exact, and one statement, so one snapshot.
 */
const PARK_P90 = `WITH h AS (
    SELECT bucket, sum(n) AS n FROM (
      SELECT bucket, n FROM alarm_response_days WHERE ${WHOLE_DAYS}
      UNION ALL ${edgeRows('SELECT alarm_response_bucket(response_ms), 1 FROM alarms', 'recorded_at', 'response_ms IS NOT NULL')}) x
    GROUP BY bucket HAVING sum(n) > 0),
  c AS (SELECT bucket, n, sum(n) OVER (ORDER BY bucket) - n AS before, sum(n) OVER () AS total FROM h),
  r AS (SELECT DISTINCT total, floor(0.9::float8 * (total - 1)::float8)::bigint AS lo, ceil(0.9::float8 * (total - 1)::float8)::bigint AS hi FROM c),
  b AS (SELECT r.*, (SELECT bucket FROM c WHERE r.lo >= before AND r.lo < before + n) AS b_lo,
               (SELECT bucket FROM c WHERE r.hi >= before AND r.hi < before + n) AS b_hi,
               (SELECT before FROM c WHERE r.lo >= before AND r.lo < before + n) AS skip FROM r)
  SELECT b.total, b.lo, b.hi,
         (SELECT array_agg(v ORDER BY v) FROM (
            SELECT response_ms AS v FROM alarms
             WHERE response_ms IS NOT NULL AND alarm_response_bucket(response_ms) BETWEEN b.b_lo AND b.b_hi AND recorded_at >= $1 AND recorded_at < $2
             ORDER BY response_ms OFFSET b.lo - b.skip LIMIT b.hi - b.lo + 1) s) AS vals
    FROM b`;

/**
 * Instants counted per rollup day (migration 012) up to now (`<=`) or before it (`<`): the days
 * before today's from the counters, today's part from the rows, so the figure is exact at any instant.
 */
const TODAY_DAY = rollupDay('now()');
const TODAY = rollupDayStart(TODAY_DAY);
const countedBy = (days: string, table: string, col: string, upTo: '<' | '<=' = '<=') =>
  `((SELECT coalesce(sum(n), 0) FROM ${days} WHERE day < ${TODAY_DAY})
    + (SELECT count(*) FROM ${table} WHERE ${col} >= ${TODAY} AND ${col} ${upTo} now()))`;
/**
 * The whole park's training coverage now: active workers, and those inside a covered span (a
 * valid certificate in force and not due for review): spans started by now less spans ended by now.
 */
const PARK_COVERAGE = `SELECT (SELECT coalesce(sum(n), 0) FROM worker_counts) AS active,
    ${countedBy('coverage_start_days', 'worker_coverage', 'starts_at')} - ${countedBy('coverage_end_days', 'worker_coverage', 'ends_at')} AS covered`;
/**
 * The whole park's valid certificates due for review before now, and expiring in [now, now + 60
 * days): the whole days between from the counters, the two edges from the rows.
 */
const SOON = `now() + interval '60 days'`;
const PARK_CERTIFICATES = `SELECT ${countedBy('certificate_review_days', 'counted_certificates', 'review_due', '<')} AS overdue,
    (SELECT count(*) FROM counted_certificates WHERE valid_until >= now() AND valid_until < least(${rollupDayStart(`${TODAY_DAY} + 1`)}, ${SOON}))
      + (SELECT coalesce(sum(n), 0) FROM certificate_expiry_days WHERE day > ${TODAY_DAY} AND day < ${rollupDay(SOON)})
      + (SELECT count(*) FROM counted_certificates WHERE valid_until >= greatest(${rollupDayStart(rollupDay(SOON))}, ${rollupDayStart(`${TODAY_DAY} + 1`)})
           AND valid_until < ${SOON}) AS expiring60`;

/** percentile_cont(0.9)'s arithmetic (PostgreSQL's float8 interpolation) on the two values PARK_P90 read. */
function p90From(row: Record<string, unknown> | undefined): number | null {
  if (!row || row.total == null) return null;
  const total = Number(row.total);
  const vals = (row.vals as unknown[]).map(Number);
  const pos = 0.9 * (total - 1);
  const lo = Math.floor(pos);
  const first = vals[0]!;
  const second = vals[vals.length - 1]!;
  return lo === Math.ceil(pos) ? first : first + (second - first) * (pos - lo);
}

const iso = (v: unknown): string | null => (v instanceof Date ? v.toISOString() : v == null ? null : String(v));
const num = (v: unknown): number | null => (v == null ? null : Number(v));

/** The regulator's KPIs over a window (also the last section of the monthly report). */
export interface Kpis {
  window: { from: string; to: string };
  averageAlarmResponseSeconds: number | null;
  /** 90 % of the acknowledged alarms of the window were acknowledged within this. */
  p90AlarmResponseSeconds: number | null;
  alarms: number;
  /** Alarms not closed now, by grade (1 = most severe). */
  openAlarmsByGrade: { grade: number; count: number }[];
  alarmsResponded: number;
  trainingCoverage: { activeWorkers: number; coveredWorkers: number; ratio: number | null };
  repeatViolationRate: { workUnitsWithViolations: number; workUnitsWithRepeats: number; ratio: number | null };
  /** The repeat-violation rate of each calendar month (UTC) of the window. */
  repeatViolationTrend: { month: string; workUnitsWithViolations: number; workUnitsWithRepeats: number; ratio: number | null }[];
  permitsByTypeAndState: { operationType: string; status: string; count: number }[];
  overdueReviews: number;
  certificatesExpiringWithin60Days: number;
  /** The same regulator's view broken down by enterprise (MSP id), and by each enterprise's sites. */
  byEnterprise: EnterpriseFigures[];
  bySite: (EnterpriseFigures & { siteId: string })[];
}

/** One cell of the risk heat map: a site's (or, `areaId` set, one of its areas') alarms and violations in a month (UTC). */
export interface RiskCell {
  siteId: string;
  areaId?: string;
  month: string;
  alarms: number;
  violations: number;
}

/** A risk map row (site_id, area_id, month, alarms, violations) as its cell; the area only at the area level. */
export function riskCell(r: Record<string, unknown>, byArea: boolean): RiskCell {
  return {
    siteId: String(r.site_id),
    ...(byArea ? { areaId: String(r.area_id) } : {}),
    month: String(r.month),
    alarms: Number(r.alarms),
    violations: Number(r.violations),
  };
}

/** Windows longer than this group their rows by date_trunc instead (see utcMonths). */
const MAX_BUCKETED_MONTHS = 1200;

/**
 * The calendar months (UTC) that [from, to) touches, for grouping rows by month: `labels[i]`
 * (YYYY-MM) is the month of the instants that `width_bucket(at, starts)` puts in bucket i, `starts`
 * being the first instant of each month after from's. A binary search over a dozen instants costs
 * nothing next to date_trunc over a time zone (0.45 µs a row here, 2.4 ms of a year's page of 100
 * sites) and to_char. undefined for a window of over MAX_BUCKETED_MONTHS (a query "since 1970"):
 * `month` is then the slower expression, which any window can take.
 */
export function utcMonths(from: string, to: string): { starts: string[]; labels: string[] } | undefined {
  const first = new Date(from);
  const end = Date.parse(to);
  const labels = [first.toISOString().slice(0, 7)];
  const starts: string[] = [];
  for (let m = first.getUTCMonth() + 1; ; m++) {
    const start = new Date(Date.UTC(first.getUTCFullYear(), m, 1));
    if (start.getTime() >= end) break;
    if (labels.length === MAX_BUCKETED_MONTHS) return undefined;
    starts.push(start.toISOString());
    labels.push(start.toISOString().slice(0, 7));
  }
  return { starts, labels };
}

/**
 * The month (UTC) of `at` in a query whose parameter `$param` is utcMonths(…).starts: a bucket
 * number that monthLabel turns into YYYY-MM, or with no such parameter, YYYY-MM itself.
 */
function monthOf(at: string, months: ReturnType<typeof utcMonths>, param: number): string {
  return months ? `width_bucket(${at}, $${param}::timestamptz[])` : `to_char(date_trunc('month', ${at} AT TIME ZONE 'UTC'), 'YYYY-MM')`;
}
function monthLabel(month: unknown, months: ReturnType<typeof utcMonths>): string {
  return months ? months.labels[Number(month)]! : String(month);
}

/** One enterprise's (or one of its sites') permits now and alarms in the window. */
export interface EnterpriseFigures {
  orgMsp: string;
  permits: number;
  livePermits: number;
  alarms: number;
  averageAlarmResponseSeconds: number | null;
}

/** Which enterprise (applicant MSP) and site a report covers; unset: all of them. */
export interface ReportScope {
  org?: string | undefined;
  site?: string | undefined;
}

/** One month's figures, as JSON and, field by field, as CSV and PDF. */
export interface MonthlyReport {
  month: string;
  /** The regulator's time zone the month's days begin in (GATEWAY_REPORT_TIME_ZONE). */
  timeZone: string;
  scope: { org: string | null; site: string | null };
  window: { from: string; to: string };
  /** The newest block of the mirror the figures were read from; null before the indexer stored any. */
  builtFrom: { blockNumber: number; blockHeight: number; headerHash: string } | null;
  permits: { operationType: string; level: string; status: string; count: number }[];
  permitsTotal: number;
  gasTests: { total: number; failed: number };
  gateChecks: { total: number; failed: number };
  alarms: { grade: number; count: number; averageResponseSeconds: number | null }[];
  alarmsTotal: number;
  /** Evidence files captured in the month (by their capture time). */
  evidenceRecords: number;
  investigationFlags: number;
  /** Each local day: permits applied and alarms recorded. */
  daily: { date: string; permitsApplied: number; alarms: number }[];
  /** Per enterprise, then site (code units): permits applied and alarms recorded (an alarm's enterprise is its device's owner). */
  sites: { orgMsp: string; siteId: string; permitsApplied: number; alarms: number }[];
  kpis: Kpis;
}

export class RegulatorRepository {
  constructor(
    private readonly pool: Pool,
    private readonly retryAfterSeconds: number,
  ) {}

  private async q<T = Record<string, unknown>>(sql: string, params: unknown[] = [], prepared = false): Promise<T[]> {
    return this.on(this.pool, sql, params, prepared);
  }

  /**
   * Runs one query on the pool or on one client (inside a snapshot), with the database's failures typed.
   * `prepared`: as a named statement, parsed once per connection and its plan kept there (see
   * statementName); for the KPIs' and the reports' statements, whose parse and plan cost about as
   * much as running them.
   */
  private async on<T>(db: Pool | PoolClient, sql: string, params: unknown[] = [], prepared = false): Promise<T[]> {
    try {
      return (await (prepared ? db.query({ name: statementName(sql), text: sql, values: params }) : db.query(sql, params))).rows as T[];
    } catch (e) {
      throw this.typed(e);
    }
  }

  /** Several statements without parameters in one round trip (the simple query protocol), each one's result. */
  private async multi(db: PoolClient, sql: string): Promise<{ rows: Record<string, unknown>[] }[]> {
    try {
      const r = (await db.query(sql)) as unknown as { rows: Record<string, unknown>[] } | { rows: Record<string, unknown>[] }[];
      return Array.isArray(r) ? r : [r];
    } catch (e) {
      throw this.typed(e);
    }
  }

  private typed(e: unknown): unknown {
    const code = (e as { code?: string }).code;
    if (code && /^(08|57P|53)/.test(code))
      return new UnavailableError('STORE_UNAVAILABLE', `the query database is unavailable: ${(e as Error).message}`, this.retryAfterSeconds);
    if (!code || code === 'ECONNREFUSED' || code === 'ETIMEDOUT')
      return new UnavailableError('STORE_UNAVAILABLE', `the query database is unreachable: ${(e as Error).message}`, this.retryAfterSeconds);
    // 42P01 undefined_table: DATABASE_URL names a database the indexer has not migrated (yet).
    if (code === '42P01') {
      return new UnavailableError(
        'STORE_UNAVAILABLE',
        `the query database has no indexer tables (${(e as Error).message}); point DATABASE_URL at the ` +
          `indexer's database, or wait for the indexer to migrate it`,
        this.retryAfterSeconds,
      );
    }
    return e;
  }

  /**
   * Runs the queries of one document in one read-only snapshot, so that its figures and the block
   * it names as its source describe the same state of the mirror even while the indexer commits.
   * On PostgreSQL the snapshot is exported (pg_export_snapshot) to up to SNAPSHOT_HELPERS more
   * connections that the pool has free at once, and the queries the document sends side by side
   * run on them concurrently, each seeing exactly the same snapshot; with one connection (the PGlite
   * socket, DATABASE_POOL_MAX=1) or none free, or where the export is refused, they run one after
   * another on the first.
   */
  private async snapshot<T>(read: (q: Query) => Promise<T>): Promise<T> {
    const clients: PoolClient[] = [];
    try {
      let lead: PoolClient;
      try {
        lead = await this.pool.connect();
      } catch (e) {
        throw this.typed(e);
      }
      clients.push(lead);
      const lanes = [lead];
      const free = () => this.pool.idleCount + (this.pool.options.max - this.pool.totalCount);
      // Each connection's BEGIN goes with its next statement in one round trip (a simple query of two
      // statements), and the helpers join side by side: the first query waits for two round trips,
      // not two per connection one after another.
      let id: string | undefined;
      if (free() > 0) {
        // A refused export (a standby, say) aborts the transaction: it begins again, nothing read yet.
        const exported = await this.multi(lead, `${BEGIN_SNAPSHOT}; SELECT pg_export_snapshot() AS id; ${DOCUMENT_PLANNING}`).then(
          (results) => results[1]?.rows[0] as { id?: unknown } | undefined,
          async () => {
            await this.on(lead, 'ROLLBACK');
            await this.multi(lead, `${BEGIN_SNAPSHOT}; ${DOCUMENT_PLANNING}`);
            return undefined;
          },
        );
        // Not a bind parameter: SET takes a literal; the id is PostgreSQL's own (hex digits and dashes).
        id = typeof exported?.id === 'string' && /^[0-9A-Fa-f-]+$/.test(exported.id) ? exported.id : undefined;
      } else {
        await this.multi(lead, `${BEGIN_SNAPSHOT}; ${DOCUMENT_PLANNING}`);
      }
      const helpers: PoolClient[] = [];
      for (let i = 0; id && i < SNAPSHOT_HELPERS && free() > 0; i++) {
        const helper = await this.pool.connect().catch(() => undefined);
        if (!helper) break;
        clients.push(helper);
        helpers.push(helper);
      }
      // One that cannot take the snapshot only rolls back with the others; the rest use those that could.
      const joined = await Promise.all(
        helpers.map((h) =>
          this.multi(h, `${BEGIN_SNAPSHOT}; SET TRANSACTION SNAPSHOT '${id}'; ${DOCUMENT_PLANNING}`).then(
            () => true,
            () => false,
          ),
        ),
      );
      lanes.push(...helpers.filter((_, i) => joined[i]));
      // A document's n-th statement always runs on lane n mod lanes, after the lane's statement
      // before it. A connection plans a statement the first time it runs it there; handed to
      // whichever lane was idle, each statement was planned on every lane in time, and the rarer
      // pairs of statement and lane planned (1–5 ms each) a hundred reports after the gateway
      // started (bench/RESULTS.md, 2026-12-06, fourth evening session). After a failure no more
      // start, and the ones running end before the connections roll back and go back to the pool.
      let failed = false;
      let issued = 0;
      // Each lane's last statement, settled either way: what a failure waits for.
      const tails: Promise<unknown>[] = lanes.map(() => Promise.resolve());
      const q: Query = async (sql, params) => {
        const lane = issued++ % lanes.length;
        const run = tails[lane]!.then(() =>
          failed ? Promise.reject(new Error('an earlier query of this snapshot failed')) : this.on<Record<string, unknown>>(lanes[lane]!, sql, params, true),
        );
        tails[lane] = run.catch(() => undefined);
        try {
          return await run;
        } catch (e) {
          failed = true;
          throw e;
        }
      };
      try {
        const result = await read(q);
        await Promise.all(clients.map((c) => this.on(c, 'COMMIT')));
        return result;
      } catch (e) {
        failed = true;
        // A statement queued behind these finds `failed` and sends nothing.
        await Promise.all(tails);
        throw e;
      }
    } catch (e) {
      for (const c of clients) await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      for (const c of clients) c.release();
    }
  }

  async listPermits(f: PermitFilter): Promise<{ items: Record<string, unknown>[]; total: number; totalIsExact: boolean; limit: number; offset: number }> {
    const where: string[] = [];
    const p: unknown[] = [];
    const add = (cond: string, v: unknown) => {
      p.push(v);
      where.push(cond.split('?').join(`$${p.length}`));
    };
    if (f.org) add('org_msp = ?', f.org);
    if (f.site) add('site_id = ?', f.site);
    if (f.area) add('zone_id = ?', f.area);
    if (f.type) add('operation_type = ?', f.type);
    if (f.level) add('level = ?', f.level);
    if (f.state?.length) add(effectiveStatusIn('?'), f.state);
    if (f.from) add('applied_at >= ?', f.from);
    if (f.to) add('applied_at < ?', f.to);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    // The count stops at COUNT_CAP matching rows: an exact count of a huge match costs a scan for a
    // number nobody pages through; `totalIsExact` says whether it was capped.
    const countQ = this.q<{ total: string }>(`SELECT count(*) AS total FROM (SELECT 1 FROM permits ${w} LIMIT ${COUNT_CAP + 1}) x`, p);
    const rowsQ = this.q(
      `SELECT permit_no, org_msp, operation_type, level, requested_level, ${STATUS_COLUMNS}, site_id, zone_id, work_unit, fire_explosion_zone,
              night_or_holiday, planned_start, planned_end, valid_from, valid_until, suspension_reason, template_version,
              applied_at, status_changed_at, block_number, tx_id
         FROM permits ${w} ORDER BY ${f.sort} ${f.order === 'asc' ? 'ASC' : 'DESC'}, permit_no ASC LIMIT ${f.limit} OFFSET ${f.offset}`,
      p,
    );
    const [[count], rows] = await Promise.all([countQ, rowsQ]);
    const total = Number(count!.total);
    return { items: rows.map(permitRow), total: Math.min(total, COUNT_CAP), totalIsExact: total <= COUNT_CAP, limit: f.limit, offset: f.offset };
  }

  /**
   * `org`: the permit only if that enterprise applied for it; another enterprise's permit reads as
   * an unknown one, so its existence does not show.
   */
  async timeline(permitNo: string, org?: string): Promise<Record<string, unknown>> {
    const [permit] = await this.q(`SELECT *, ${STATUS_COLUMNS} FROM permits WHERE permit_no = $1 AND ($2::text IS NULL OR org_msp = $2)`, [
      permitNo,
      org ?? null,
    ]);
    if (!permit) throw new NotFoundError(`permit ${permitNo} is not in the index (unknown, or the indexer has not caught up)`);
    const [steps, signOffs, gas, gates, evidence, flags] = await Promise.all([
      this.q(
        `SELECT step_index, action, from_status, to_status, actor_msp, actor_role, at, tx_id, block_number ` +
          `FROM permit_steps WHERE permit_no = $1 ORDER BY step_index`,
        [permitNo],
      ),
      this.q(
        `SELECT step_id, actor_msp, actor_role, actor_department, at_site, opinion, at, tx_id, block_number FROM sign_offs WHERE permit_no = $1 ORDER BY at`,
        [permitNo],
      ),
      this.q(
        `SELECT test_id, lel_class, flammable_vol_pct, oxygen_vol_pct, toxic, passed, failures, ` +
          `sample_taken_at, recorded_at, analyst_msp, tx_id, block_number FROM gas_tests WHERE permit_no = $1 ` +
          `ORDER BY recorded_at`,
        [permitNo],
      ),
      this.q(
        `SELECT gate_check_id, worker_id, at, passed, qr_passed, face_passed, face_score_bp, ` +
          `certificate_passed, certificate_reason, health_passed, tx_id, block_number FROM gate_checks WHERE ` +
          `permit_no = $1 ORDER BY at`,
        [permitNo],
      ),
      this.q(
        `SELECT step, cid, sha256, size_bytes, media_type, captured_at, device_id, recorded_by_msp, ` +
          `recorded_at, tx_id, block_number FROM evidence WHERE permit_no = $1 ORDER BY recorded_at`,
        [permitNo],
      ),
      this.q(`SELECT flag_id, reason, flagged_by_msp, at, tx_id, block_number FROM investigation_flags WHERE permit_no = $1 ORDER BY at`, [permitNo]),
    ]);
    const events: { at: string; kind: string; txId: unknown; blockNumber: number | null; detail: Record<string, unknown> }[] = [];
    const push = (kind: string, at: unknown, r: Record<string, unknown>) => {
      const { tx_id, block_number, ...rest } = r;
      events.push({ at: iso(at)!, kind, txId: tx_id, blockNumber: num(block_number), detail: normalise(rest) });
    };
    for (const r of steps) push('step', r.at, r);
    for (const r of signOffs) push('sign_off', r.at, r);
    for (const r of gas) push('gas_test', r.recorded_at, r);
    for (const r of gates) push('gate_check', r.at, r);
    for (const r of evidence) push('evidence', r.recorded_at, r);
    for (const r of flags) push('flag', r.at, r);
    events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    return { permit: permitRow(permit), events, evidence: evidence.map((r) => normalise(r)) };
  }

  async listAlarms(f: AlarmFilter): Promise<Record<string, unknown>> {
    const where: string[] = [];
    const p: unknown[] = [];
    const add = (cond: string, v: unknown) => {
      p.push(v);
      where.push(cond.replace('?', `$${p.length}`));
    };
    if (f.org) add('recorded_by_msp = ?', f.org);
    if (f.site) add('site_id = ?', f.site);
    if (f.area) add('area_id = ?', f.area);
    if (f.grade !== undefined) add('grade = ?', f.grade);
    if (f.status) add('status = ?', f.status);
    if (f.kind) add('kind = ?', f.kind);
    if (f.from) add('recorded_at >= ?', f.from);
    if (f.to) add('recorded_at < ?', f.to);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    // Like the permit listing's count, the statistics stop at COUNT_CAP matching alarms, the newest:
    // over a whole park's years of alarms they would read every one on each page; the KPIs give a
    // window's exact figures. `totalIsExact` false says the cap applied. The count is read apart from
    // the statistics: numbering the rows (a window) to leave the last one out of them took longer
    // than reading the rows twice. Both percentiles come from one sort; the page on another connection.
    const aggQ = this.q(
      `SELECT (SELECT count(*) FROM (SELECT FROM alarms ${w} LIMIT ${COUNT_CAP + 1}) c) AS total, avg(response_ms::float8) AS avg_ms,
              percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY response_ms) AS percentiles_ms, count(response_ms) AS responded
         FROM (SELECT response_ms FROM alarms ${w} ORDER BY recorded_at DESC, alarm_id LIMIT ${COUNT_CAP}) m`,
      p,
    );
    const rowsQ = this.q(`SELECT ${ALARM_COLUMNS} FROM alarms ${w} ORDER BY recorded_at DESC, alarm_id LIMIT ${f.limit} OFFSET ${f.offset}`, p);
    const [[agg], rows] = await Promise.all([aggQ, rowsQ]);
    const total = Number(agg!.total);
    const percentiles = agg!.percentiles_ms as (number | string | null)[] | null;
    return {
      items: rows.map((r) => normalise(r)),
      total: Math.min(total, COUNT_CAP),
      totalIsExact: total <= COUNT_CAP,
      limit: f.limit,
      offset: f.offset,
      responseTime: {
        responded: Number(agg!.responded),
        averageSeconds: agg!.avg_ms == null ? null : Number(agg!.avg_ms) / 1000,
        p50Seconds: percentiles?.[0] == null ? null : Number(percentiles[0]) / 1000,
        p90Seconds: percentiles?.[1] == null ? null : Number(percentiles[1]) / 1000,
      },
    };
  }

  /** KPIs over [from, to) (alarm and violation figures) and now (coverage, reviews, permits); `org`: of that enterprise only. */
  async kpis(from: string, to: string, org?: string): Promise<Kpis> {
    return kpisOf((sql, params) => this.q(sql, params, true), from, to, org === undefined ? {} : { org });
  }

  /**
   * One month's report in the regulator's time zone, for every enterprise and site or one of each,
   * with the newest block of the mirror it was read from (in the same snapshot as its figures).
   */
  async monthlyReport(window: MonthWindow, scope: ReportScope = {}): Promise<MonthlyReport> {
    const { from, to } = window;
    const sc = scopeSql(scope);
    return this.snapshot(async (q) => {
      const p = [from, to, ...sc.params];
      // A rollup day lies inside one local day when every local midnight is a rollup day's start
      // (the default zone's are): then it counts for the local day its start is in. Decided here,
      // not by a statement every other one waited for.
      const aligned = [...window.days.map((d) => d.from), to].every(isRollupDayStart);
      const whole = scope.org === undefined && scope.site === undefined;
      // The whole park from the day rollups (with the permits that read expired moved, as in
      // effectiveCounts); an enterprise's or a site's month is read from its permits.
      const permitsQ = whole
        ? q(
            `SELECT operation_type, level, status, sum(n) AS n FROM (
               SELECT operation_type, level, status, n FROM permit_days WHERE ${WHOLE_DAYS}
               UNION ALL ${edgeRows('SELECT operation_type, level, status, 1 FROM permits', 'applied_at')}
               UNION ALL SELECT operation_type, level, unnest(ARRAY[status, 'expired']), unnest(ARRAY[-1, 1]) FROM permits
                WHERE ${READS_EXPIRED} AND applied_at >= $1 AND applied_at < $2) x
             GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3`,
            [from, to],
          )
        : q(
            `SELECT operation_type, level, ${EFFECTIVE_STATUS} AS status, count(*) AS n FROM permits
              WHERE applied_at >= $1 AND applied_at < $2 AND ${sc.permits} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
            p,
          );
      // A permit's trail: the park's from the day counters and the edges, a scope's by the permit's
      // enterprise and site each row carries (migration 017).
      const trail = (table: string, days: string, at: string, passed: boolean) =>
        whole
          ? `SELECT coalesce(sum(n), 0) AS n${passed ? ', coalesce(sum(failed), 0) AS failed' : ''} FROM (
               SELECT n${passed ? ', failed' : ''} FROM ${days} WHERE ${WHOLE_DAYS}
               UNION ALL ${edgeRows(`SELECT 1${passed ? ', (NOT passed)::int' : ''} FROM ${table}`, at)}) x`
          : `SELECT count(*) AS n${passed ? ', count(*) FILTER (WHERE NOT passed) AS failed' : ''} FROM ${table}
              WHERE ${at} >= $1 AND ${at} < $2 AND ${sc.permits}`;
      // The month's single figures and the newest block in one statement: each is an index range or a
      // few counter rows, and a statement's round trip cost the gateway about as much CPU as them.
      // Evidence counts in the month it was captured: uploads lag behind capture, and the chaincode
      // accepts a late upload of what was captured earlier.
      const countsQ = q(
        `SELECT b.number, b.header_hash, g.n AS gas, g.failed AS gas_failed, k.n AS gates, k.failed AS gates_failed, e.n AS evidence, f.n AS flags
           FROM (${trail('gas_tests', 'gas_test_days', 'recorded_at', true)}) g
          CROSS JOIN (${trail('gate_checks', 'gate_check_days', 'at', true)}) k
          CROSS JOIN (${trail('evidence', 'evidence_days', 'captured_at', false)}) e
          CROSS JOIN (SELECT count(*) AS n FROM investigation_flags WHERE at >= $1 AND at < $2 AND ${sc.byPermit}) f
           LEFT JOIN (SELECT number, encode(header_hash, 'hex') AS header_hash FROM blocks ORDER BY number DESC LIMIT 1) b ON TRUE`,
        p,
      );
      const alarmsQ = whole
        ? q(
            `SELECT grade, sum(n) AS n, sum(ms)::numeric / nullif(sum(responded), 0) AS avg_ms FROM (
               SELECT grade, n, responded, response_ms AS ms FROM alarm_days WHERE ${WHOLE_DAYS}
               UNION ALL ${edgeRows('SELECT grade, 1, (response_ms IS NOT NULL)::int, response_ms FROM alarms', 'recorded_at')}) x
             GROUP BY grade HAVING sum(n) > 0 ORDER BY grade`,
            [from, to],
          )
        : q(
            `SELECT grade, count(*) AS n, avg(response_ms) AS avg_ms FROM alarms WHERE recorded_at >= $1 AND recorded_at < $2 AND ${sc.alarms}
              GROUP BY grade ORDER BY grade`,
            p,
          );
      // Day buckets by the local midnights: width_bucket's thresholds are the days' first instants.
      const bounds = [...window.days.map((d) => Date.parse(d.from) / 1000), Date.parse(to) / 1000];
      const dp = [from, to, bounds, ...sc.params];
      const dayOf = (col: string) => `width_bucket(extract(epoch FROM ${col})::float8, $3::float8[])`;
      const fromDays = whole && aligned;
      // Each local day's permits applied (kind 'p') and alarms recorded ('a'), in one statement: the
      // whole park from the rollups, else the rows.
      const daily = (kind: string, rollup: string, table: string, col: string, scoped: string) =>
        fromDays
          ? `SELECT '${kind}' AS kind, day, sum(n) AS n FROM (SELECT ${dayOf(rollupDayStart('day'))} AS day, n FROM ${rollup} WHERE ${WHOLE_DAYS}
               UNION ALL ${edgeRows(`SELECT ${dayOf(col)}, 1 FROM ${table}`, col)}) x GROUP BY 2`
          : `SELECT '${kind}' AS kind, ${dayOf(col)} AS day, count(*) AS n FROM ${table} WHERE ${col} >= $1 AND ${col} < $2 AND ${scoped} GROUP BY 2`;
      const dailyQ = q(
        `${daily('p', 'permit_days', 'permits', 'applied_at', sc.shifted(1).permits)}
         UNION ALL ${daily('a', 'alarm_days', 'alarms', 'recorded_at', sc.shifted(1).alarms)}`,
        fromDays ? [from, to, bounds] : dp,
      );
      // Each site's permits applied and alarms, merged and in the report's order by the database:
      // one JSON array of rows (two lists merged and sorted here cost the gateway about 3 ms of a
      // park's report). The park's permits from the month counters of migration 013 (a month in the
      // default zone is one rollup month: no edge to read), a scope's from its permits; alarms under
      // the device's owner each alarm row carries (migration 019), where a join to every device cost
      // the park's report 4.6 ms. By enterprise, then site, in code units whatever the database's
      // collation: byte order under "C" is code point order, the same for the ids' characters.
      const sitePermits = whole
        ? `SELECT org_msp, site_id, n, 0 AS a FROM permit_site_months WHERE ${WHOLE_MONTHS}
           UNION ALL ${monthEdges('applied_at')
             .map((edge) => `SELECT org_msp, site_id, 1, 0 FROM permits WHERE ${edge}`)
             .join(' UNION ALL ')}`
        : `SELECT org_msp, site_id, 1 AS n, 0 AS a FROM permits WHERE applied_at >= $1 AND applied_at < $2 AND ${sc.permits}`;
      const sitesQ = q(
        jsonRows(
          `SELECT org_msp, site_id, sum(n)::int AS n, sum(a)::int AS a FROM (${sitePermits}
             UNION ALL SELECT coalesce(device_owner_msp, ''), site_id, 0, 1 FROM alarms
              WHERE recorded_at >= $1 AND recorded_at < $2 AND ${sc.alarms}) x
            GROUP BY 1, 2 HAVING sum(n) > 0 OR sum(a) > 0`,
          'org_msp, site_id, n, a',
          'org_msp COLLATE "C", site_id COLLATE "C"',
        ),
        p,
      );
      // Sent side by side: on PostgreSQL the snapshot's connections run them concurrently.
      const [[counts], permits, alarms, days, [sites], kpis] = await Promise.all([countsQ, permitsQ, alarmsQ, dailyQ, sitesQ, kpisOf(q, from, to, scope)]);
      const byDay = (kind: string, i: number) => Number(days.find((r) => r.kind === kind && Number(r.day) === i + 1)?.n ?? 0);
      const alarmRows = alarms.map((r) => ({
        grade: Number(r.grade),
        count: Number(r.n),
        averageResponseSeconds: r.avg_ms == null ? null : Number(r.avg_ms) / 1000,
      }));
      return {
        month: window.month,
        timeZone: window.timeZone,
        scope: { org: scope.org ?? null, site: scope.site ?? null },
        window: { from, to },
        builtFrom:
          counts!.number == null
            ? null
            : { blockNumber: Number(counts!.number), blockHeight: Number(counts!.number) + 1, headerHash: String(counts!.header_hash) },
        permits: permits.map((r) => ({ operationType: String(r.operation_type), level: String(r.level), status: String(r.status), count: Number(r.n) })),
        permitsTotal: permits.reduce((a, r) => a + Number(r.n), 0),
        gasTests: { total: Number(counts!.gas), failed: Number(counts!.gas_failed) },
        gateChecks: { total: Number(counts!.gates), failed: Number(counts!.gates_failed) },
        alarms: alarmRows,
        alarmsTotal: alarmRows.reduce((a, r) => a + r.count, 0),
        evidenceRecords: Number(counts!.evidence),
        investigationFlags: Number(counts!.flags),
        daily: window.days.map((d, i) => ({ date: d.date, permitsApplied: byDay('p', i), alarms: byDay('a', i) })),
        sites: (sites!.rows as [string, string, number, number][]).map(([orgMsp, siteId, permitsApplied, alarms]) => ({
          orgMsp,
          siteId,
          permitsApplied,
          alarms,
        })),
        kpis,
      };
    });
  }

  /**
   * Each area with work or open alarms now: active permits and open alarms, for the area plan.
   * `org`: that enterprise's permits and the alarms its devices recorded (as the live stream filters).
   */
  async areas(org?: string): Promise<{ siteId: string; areaId: string; activePermits: string[]; openAlarms: { alarmId: string; grade: number }[] }[]> {
    const [permits, alarms] = await Promise.all([
      // Active now = recorded active and validity not ended: a range of the partial index of running permits.
      this.q(
        `SELECT site_id, zone_id, permit_no FROM permits WHERE status = 'active' AND ${PERMIT_END} > now() AND ($1::text IS NULL OR org_msp = $1)
          ORDER BY permit_no`,
        [org ?? null],
      ),
      this.q(
        `SELECT site_id, area_id, alarm_id, grade FROM alarms WHERE ${OPEN_ALARM} AND ($1::text IS NULL OR recorded_by_msp = $1) ORDER BY grade, alarm_id`,
        [org ?? null],
      ),
    ]);
    const byArea = new Map<string, { siteId: string; areaId: string; activePermits: string[]; openAlarms: { alarmId: string; grade: number }[] }>();
    const area = (siteId: unknown, areaId: unknown) => {
      const key = `${String(siteId)}\n${String(areaId)}`;
      const known = byArea.get(key);
      if (known) return known;
      const a = { siteId: String(siteId), areaId: String(areaId), activePermits: [] as string[], openAlarms: [] as { alarmId: string; grade: number }[] };
      byArea.set(key, a);
      return a;
    };
    for (const r of permits) area(r.site_id, r.zone_id).activePermits.push(String(r.permit_no));
    for (const r of alarms) area(r.site_id, r.area_id).openAlarms.push({ alarmId: String(r.alarm_id), grade: Number(r.grade) });
    return [...byArea.values()].sort((a, b) => a.siteId.localeCompare(b.siteId) || a.areaId.localeCompare(b.areaId));
  }

  /**
   * The risk heat map of [from, to): alarms and violations per calendar month (UTC), per site for a
   * page of at most `limit` sites after `after` in site id order, or, with `site`, per area of that
   * one site. A park's year per area is tens of thousands of cells (megabytes of JSON); a page of
   * sites reads only its own sites' rows through the per-site indexes.
   * The park's pages list every site that has any alarm or permit (from the per-site counters): a
   * site with nothing in the window is a row without cells. `org` (an
   * enterprise's own map): that enterprise's alarms and permits only, and its pages list the sites
   * with cells in the window, so no other enterprise's site shows.
   */
  async riskMap(
    from: string,
    to: string,
    at: { site: string } | { after: string | null; limit: number },
    org?: string,
  ): Promise<{ sites: string[]; cells: RiskCell[]; nextCursor: string | null }> {
    if ('site' in at) return { sites: [at.site], cells: await this.riskCells(from, to, true, [at.site], org), nextCursor: null };
    // `all`: the sites after the cursor in the database's order (its collation, not JavaScript's).
    // nextCursor only when another site follows: the last page says so with null.
    const page = (all: string[]) => {
      const sites = all.slice(0, at.limit);
      return { sites, nextCursor: all.length > at.limit ? sites[sites.length - 1]! : null };
    };
    if (org !== undefined) {
      // The cells of the first limit + 1 sites after the cursor: one more says whether a page follows.
      const cells = await this.riskCells(from, to, false, { after: at.after, limit: at.limit + 1 }, org);
      const { sites, nextCursor } = page([...new Set(cells.map((c) => c.siteId))]);
      const listed = new Set(sites);
      return { sites, cells: cells.filter((c) => listed.has(c.siteId)), nextCursor };
    }
    // The sites with any permit or alarm are the keys of migration 012's and 015's per-site
    // counters (a row per enterprise and site, a few thousand in a park), not a probe of the
    // alarms' and the permits' indexes per site (7.8 ms a page of 100 at 1,000,000 permits, against
    // 1.9 ms). A key whose count went back to zero lists no site. One more than the page asks for
    // says whether another page follows.
    const rows = await this.q<{ site_id: string }>(
      `SELECT site_id FROM (SELECT site_id FROM permit_site_counts WHERE n > 0 AND site_id > $1
                            UNION SELECT site_id FROM alarm_site_spans WHERE n > 0 AND site_id > $1) s
        ORDER BY site_id LIMIT $2::int + 1`,
      [at.after ?? '', at.limit],
    );
    const { sites, nextCursor } = page(rows.map((r) => r.site_id));
    return { sites, cells: sites.length ? await this.riskCells(from, to, false, sites, org) : [], nextCursor };
  }

  /**
   * Alarms and violations of [from, to) per site (and area) and month (UTC), of the listed sites, or
   * of the first `limit` sites with any after one (in the database's order).
   */
  private async riskCells(
    from: string,
    to: string,
    byArea: boolean,
    sites: string[] | { after: string | null; limit: number },
    org?: string,
  ): Promise<RiskCell[]> {
    const listed = Array.isArray(sites);
    const ofSites = (col: string) => (listed ? `${col} = ANY($4::text[])` : `($4::text IS NULL OR ${col} > $4)`);
    const months = utcMonths(from, to);
    // A row per site (and area) and month, 1,200 a page: one JSON value (jsonRows), in the database's order.
    const [{ rows }] = (await this.q(
      jsonRows(
        `WITH a AS (SELECT site_id, ${byArea ? 'area_id' : 'NULL::text'} AS area_id, recorded_at AS at, 1 AS alarm, 0 AS violation FROM alarms
                   WHERE ${ofSites('site_id')} AND recorded_at >= $1 AND recorded_at < $2 AND ($3::text IS NULL OR recorded_by_msp = $3)
                  UNION ALL
                  SELECT site_id, ${byArea ? 'zone_id' : 'NULL::text'}, at, 0, 1 FROM violation_flags
                   WHERE at >= $1 AND at < $2 AND ($3::text IS NULL OR org_msp = $3) AND ${ofSites('site_id')}
                  UNION ALL
                  SELECT site_id, ${byArea ? 'zone_id' : 'NULL::text'}, status_changed_at, 0, 1 FROM permits
                   WHERE suspension_reason = 'violation' AND status_changed_at >= $1 AND status_changed_at < $2
                     AND ($3::text IS NULL OR org_msp = $3) AND ${ofSites('site_id')})
       ${listed ? '' : ', s AS (SELECT DISTINCT site_id FROM a ORDER BY 1 LIMIT $5)'}
       SELECT site_id, area_id, ${monthOf('at', months, listed ? 5 : 6)} AS month, sum(alarm) AS alarms, sum(violation) AS violations
         FROM a ${listed ? '' : 'WHERE site_id IN (SELECT site_id FROM s)'} GROUP BY 1, 2, 3`,
        'site_id, area_id, month, alarms, violations',
        'site_id, area_id, month',
      ),
      [from, to, org ?? null, ...(listed ? [sites] : [sites.after, sites.limit]), ...(months ? [months.starts] : [])],
    )) as [{ rows: [string, string | null, number | string, number, number][] }];
    return rows.map(([site_id, area_id, month, alarms, violations]) =>
      riskCell({ site_id, area_id, month: monthLabel(month, months), alarms, violations }, byArea),
    );
  }

  /**
   * Violations per work unit (contractor or team) and calendar month (UTC) of [from, to): the
   * repeat-violation trend by unit; `org`: of that enterprise's permits only.
   */
  async violationsByWorkUnit(from: string, to: string, org?: string): Promise<{ workUnit: string; month: string; violations: number }[]> {
    const months = utcMonths(from, to);
    const rows = await this.q(`SELECT work_unit, ${monthOf('at', months, 4)} AS month, count(*) AS n FROM (${VIOLATIONS}) v GROUP BY 1, 2 ORDER BY 1, 2`, [
      from,
      to,
      org ?? null,
      ...(months ? [months.starts] : []),
    ]);
    return rows.map((r) => ({ workUnit: String(r.work_unit), month: monthLabel(r.month, months), violations: Number(r.n) }));
  }

  /** The newest block the indexer has mirrored completely; -1 before the first. */
  async mirroredBlock(): Promise<number> {
    const [r] = await this.q<{ last_block: string | null }>('SELECT last_block FROM checkpoint WHERE id = 1');
    return r?.last_block == null ? -1 : Number(r.last_block);
  }

  /** Alarms recorded or changed in blocks (after, upTo], oldest block first. */
  async alarmsChanged(after: number, upTo: number): Promise<Record<string, unknown>[]> {
    const rows = await this.q(`SELECT ${ALARM_COLUMNS} FROM alarms WHERE block_number > $1 AND block_number <= $2 ORDER BY block_number, alarm_id`, [
      after,
      upTo,
    ]);
    return rows.map((r) => normalise(r));
  }

  /** The newest alarms not closed yet (at most `limit`), of one org's devices when `recordedByMsp` is given. */
  async openAlarms(recordedByMsp: string | undefined, limit: number): Promise<Record<string, unknown>[]> {
    const rows = await this.q(
      `SELECT ${ALARM_COLUMNS} FROM alarms WHERE ${OPEN_ALARM} AND ($1::text IS NULL OR recorded_by_msp = $1)
        ORDER BY recorded_at DESC, alarm_id LIMIT ${limit}`,
      [recordedByMsp ?? null],
    );
    return rows.map((r) => normalise(r));
  }

  /** `org`: only the certificates that enterprise added (an enterprise's users see their own workers' only). */
  async expiringCertificates(days: number, limit: number, offset: number, org?: string): Promise<Record<string, unknown>> {
    const rows = await this.q(
      `SELECT certificate_id, worker_id, category, item, authority, valid_from, valid_until, review_due, status, count(*) OVER () AS total
         FROM certificates WHERE status = 'valid' AND valid_until >= now() AND valid_until < now() + make_interval(days => $1)
           AND ($2::text IS NULL OR added_by_msp = $2)
         ORDER BY valid_until, certificate_id LIMIT ${limit} OFFSET ${offset}`,
      [days, org ?? null],
    );
    return { items: rows.map((r) => normalise(r, 'total')), total: rows.length ? Number(rows[0]!.total) : 0, limit, offset, days };
  }

  /** The public access log of a subject's personal data (credential:LogPersonalDataAccess), newest first; `org`: only that enterprise's accesses. */
  async personalDataAccesses(kind: 'worker' | 'certificate', subjectId: string, limit: number, offset: number, org?: string): Promise<Record<string, unknown>> {
    const rows = await this.q(
      `SELECT access_id, subject_kind, subject_id, purpose, accessor_msp, accessor_role, at, block_number, tx_id, count(*) OVER () AS total
         FROM personal_data_accesses WHERE subject_kind = $1 AND subject_id = $2 AND ($3::text IS NULL OR accessor_msp = $3)
         ORDER BY at DESC, access_id LIMIT ${limit} OFFSET ${offset}`,
      [kind, subjectId, org ?? null],
    );
    return { items: rows.map((r) => normalise(r, 'total')), total: rows.length ? Number(rows[0]!.total) : 0, limit, offset };
  }

  /** Where the indexer put a transaction (block, validation), if it has it. */
  async transaction(txId: string): Promise<Record<string, unknown> | undefined> {
    const [r] = await this.q(
      `SELECT block_number, tx_index, tx_id, validation_code, validation_code_name, valid, creator_msp, ` +
        `timestamp, chaincode, function FROM transactions WHERE tx_id = $1 ORDER BY validation_code LIMIT 1`,
      [txId],
    );
    return r ? normalise(r) : undefined;
  }
}

/**
 * A statement whose result has a row per site (a thousand in a park) as one value: a JSON array of
 * arrays, the listed columns in order, `[]` for none. node-postgres decodes a result field by field
 * into strings (seven thousand for the park's KPIs, about 2 ms of the gateway's CPU a request,
 * bench/RESULTS.md); one JSON.parse of the whole costs a fraction. The sums come as JSON numbers,
 * exact below 2^53. `orderBy`: the rows' order in the array; without it, none.
 */
const jsonRows = (sql: string, columns: string, orderBy?: string) =>
  `SELECT coalesce(json_agg(json_build_array(${columns})${orderBy ? ` ORDER BY ${orderBy}` : ''}), '[]') AS rows FROM (${sql}) r`;

/** The KPIs' per-site row: enterprise, site, permits, live permits, alarms, sum of response times (ms), responded. */
type SiteFigures = [string, string, number, number, number, number, number];
const SITE_FIGURES = 'org_msp, site_id, permits, live, alarms, response_ms, responded';

/**
 * By enterprise, then site, in code units, whatever the database's collation: sorting a park's
 * thousand rows there under a libc collation took 1.5 ms of the statement.
 */
function byEnterpriseAndSite(a: readonly [string, string, ...unknown[]], b: readonly [string, string, ...unknown[]]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

/** Per-site rows summed per enterprise; the average response is over the responded alarms of each. */
function breakdown(rows: SiteFigures[]): Pick<Kpis, 'byEnterprise' | 'bySite'> {
  type Sum = { orgMsp: string; permits: number; livePermits: number; alarms: number; responseMs: number; responded: number };
  // Written out, not by object rest and spread: the KPIs have a row per site (a thousand in a park),
  // and rest and spread over them took about a millisecond of the request (the bench's profile).
  const average = (s: Sum) => (s.responded ? s.responseMs / s.responded / 1000 : null);
  const sums = new Map<string, Sum>();
  const bySite: Kpis['bySite'] = [];
  for (const r of rows) {
    const site: Sum = { orgMsp: r[0], permits: r[2], livePermits: r[3], alarms: r[4], responseMs: r[5], responded: r[6] };
    bySite.push({
      orgMsp: site.orgMsp,
      permits: site.permits,
      livePermits: site.livePermits,
      alarms: site.alarms,
      averageAlarmResponseSeconds: average(site),
      siteId: r[1],
    });
    let org = sums.get(site.orgMsp);
    if (!org) {
      org = { orgMsp: site.orgMsp, permits: 0, livePermits: 0, alarms: 0, responseMs: 0, responded: 0 };
      sums.set(site.orgMsp, org);
    }
    org.permits += site.permits;
    org.livePermits += site.livePermits;
    org.alarms += site.alarms;
    org.responseMs += site.responseMs;
    org.responded += site.responded;
  }
  const byEnterprise = [...sums.values()].map((o) => ({
    orgMsp: o.orgMsp,
    permits: o.permits,
    livePermits: o.livePermits,
    alarms: o.alarms,
    averageAlarmResponseSeconds: average(o),
  }));
  return { byEnterprise, bySite };
}

/**
 * A named statement's name, from its text: the same text gets the same name on every connection,
 * and node-postgres sends Parse only the first time a connection sees a name. The texts are the
 * fixed ones of this module (scope and window are parameters), so each connection holds a few dozen
 * and the names, hashed once a text, are kept here.
 */
const statementNames = new Map<string, string>();
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `regulator_${createHash('sha256').update(sql).digest('hex').slice(0, 32)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/**
 * Column names to the API's camelCase, computed once a name: a page is 50 rows of about 20
 * columns, and a regular-expression replace per field was a fifth of a listing's time in the
 * gateway (bench/RESULTS.md).
 */
const camelNames = new Map<string, string>();
function camel(k: string): string {
  let c = camelNames.get(k);
  if (c === undefined) {
    c = k.replace(/_([a-z0-9])/g, (_, x: string) => x.toUpperCase());
    camelNames.set(k, c);
  }
  return c;
}
/** Columns that node-postgres returns as text (bigint) and the API as numbers. */
const NUMERIC_COLUMNS = new Set(['block_number', 'size_bytes', 'response_ms']);
/** A row as the API shows it: camelCase names, instants as ISO 8601 text, counters as numbers; `skip` left out. */
function normalise(r: Record<string, unknown>, skip?: string): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k in r) {
    if (k === skip) continue;
    const v = r[k];
    o[camel(k)] = v instanceof Date ? v.toISOString() : NUMERIC_COLUMNS.has(k) ? num(v) : v;
  }
  return o;
}
function permitRow(r: Record<string, unknown>): Record<string, unknown> {
  return normalise(r, 'record');
}

type Query = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

/**
 * The scope's conditions, with their parameters numbered after the two window bounds ($1, $2).
 * Records that hang off a permit take its enterprise and site; an alarm its site and its device's
 * owner.
 */
function scopeSql(scope: ReportScope, firstParam = 3) {
  const params: string[] = [];
  const permitConds: string[] = [];
  // An enterprise's alarms are its devices' (the owner each alarm row carries, migration 019).
  const alarmConds: string[] = [];
  let a = firstParam;
  if (scope.org !== undefined) alarmConds.push(`device_owner_msp = $${a++}`);
  if (scope.site !== undefined) alarmConds.push(`site_id = $${a++}`);
  let i = firstParam;
  if (scope.org !== undefined) {
    params.push(scope.org);
    permitConds.push(`org_msp = $${i++}`);
  }
  if (scope.site !== undefined) {
    params.push(scope.site);
    permitConds.push(`site_id = $${i++}`);
  }
  const permits = permitConds.length ? permitConds.join(' AND ') : 'TRUE';
  return {
    params,
    permits,
    byPermit: permitConds.length ? `permit_no IN (SELECT permit_no FROM permits WHERE ${permits})` : 'TRUE',
    alarms: alarmConds.length ? alarmConds.join(' AND ') : 'TRUE',
    /** The same conditions with every parameter number moved up by n (for queries with more leading parameters). */
    shifted: (n: number) => scopeSql(scope, firstParam + n),
  };
}

/**
 * KPIs over [from, to) (alarm and violation figures) and now (coverage, reviews, permits) within a
 * scope. Workers and certificates belong to an enterprise (the MSP that registered them), not to a
 * site: a site's report shows its enterprise's coverage and certificate figures, or everyone's.
 */
async function kpisOf(q: Query, from: string, to: string, scope: ReportScope): Promise<Kpis> {
  const sc = scopeSql(scope);
  const p = [from, to, ...sc.params];
  // The scope's enterprise is its first parameter (scopeSql), $3 after the window's.
  const byWorkerOrg = scope.org === undefined ? 'TRUE' : 'w.registered_by_msp = $3';
  const certificateOfScope = `EXISTS (SELECT 1 FROM workers w WHERE w.worker_id = c.worker_id AND ${byWorkerOrg})`;
  // A flag's row carries its permit's enterprise and site (violation_flags, migration 013), so the
  // scope's permit conditions apply to it as they are.
  const scopedViolations = `WITH v AS (
       SELECT work_unit, at FROM violation_flags WHERE at >= $1 AND at < $2 AND ${sc.permits}
       UNION ALL
       SELECT work_unit, status_changed_at AS at FROM permits
        WHERE suspension_reason = 'violation' AND status_changed_at >= $1 AND status_changed_at < $2 AND ${sc.permits})`;
  const live = LIVE_PERMIT_STATUSES.map((x) => `'${x}'`).join(', ');
  const whole = scope.org === undefined && scope.site === undefined;
  const months = wholeRollupMonths(from, to);
  const byMonths = months !== undefined && months <= 2;
  // The single figures: the window's alarms and response times (the whole park from the day rollups;
  // an enterprise's or a site's alarms are few enough to read), training coverage and certificates now.
  const alarmFigures = whole
    ? // PARK_P90 has no row for a window without an acknowledged alarm.
      `SELECT a.n, a.responded, a.avg_ms, r.total, r.vals FROM (${PARK_ALARMS}) a LEFT JOIN (${PARK_P90}) r ON TRUE`
    : `SELECT avg(response_ms) AS avg_ms, percentile_cont(0.9) WITHIN GROUP (ORDER BY response_ms) AS p90_ms, count(*) AS n,
              count(response_ms) AS responded FROM alarms WHERE recorded_at >= $1 AND recorded_at < $2 AND ${sc.alarms}`;
  // Without an enterprise (the whole park, or a site, whose workers are everyone's) from the day
  // counters of migration 012; an enterprise reads its workers. A worker is covered when one of its
  // merged spans (worker_coverage, migration 012) holds now: a probe per worker instead of every
  // valid certificate of the park.
  const coverageFigures =
    scope.org === undefined
      ? PARK_COVERAGE
      : `SELECT count(*) AS active,
            count(*) FILTER (WHERE EXISTS (SELECT 1 FROM worker_coverage v WHERE v.worker_id = w.worker_id
                                            AND v.starts_at <= now() AND v.ends_at > now())) AS covered
           FROM workers w WHERE w.status = 'active' AND ${byWorkerOrg}`;
  const certificateFigures =
    scope.org === undefined
      ? PARK_CERTIFICATES
      : // Two index ranges of valid certificates (migration 011), not every certificate.
        `SELECT (SELECT count(*) FROM certificates c WHERE c.status = 'valid' AND c.review_due < now() AND ${certificateOfScope}) AS overdue,
                (SELECT count(*) FROM certificates c WHERE c.status = 'valid' AND c.valid_until >= now() AND c.valid_until < now() + interval '60 days'
                  AND ${certificateOfScope}) AS expiring60`;
  // Four statements side by side on several connections (the pool's for the KPI view, the
  // snapshot's for a report): the first screen waits for the slowest, not for the sum. The single
  // figures go in one: each is a few counter rows or an index range, and a statement's round trip
  // cost the gateway about as much CPU as them.
  const reads: (() => Promise<Record<string, unknown>[]>)[] = [
    () => q(`SELECT * FROM (${alarmFigures}) a CROSS JOIN (${coverageFigures}) c CROSS JOIN (${certificateFigures}) r`, p),
    // The window's rate (the grouping set without the month, `whole`) and each month's, from one read of the violations;
    // the month formatted on the dozen result rows, not on each violation (to_char was half the statement's time).
    () =>
      q(
        `${scopedViolations}
     SELECT to_char(x.month, 'YYYY-MM') AS month, whole, count(*) AS units, count(*) FILTER (WHERE n > 1) AS repeat_units
       FROM (SELECT date_trunc('month', at AT TIME ZONE 'UTC') AS month, grouping(date_trunc('month', at AT TIME ZONE 'UTC')) = 1 AS whole,
                    work_unit, count(*) AS n
               FROM v GROUP BY GROUPING SETS ((work_unit), (date_trunc('month', at AT TIME ZONE 'UTC'), work_unit))) x
      GROUP BY x.month, whole ORDER BY whole DESC, x.month`,
        p,
      ),
    () => q(`SELECT grade, count(*) AS n FROM alarms WHERE ${OPEN_ALARM} AND ${scopeSql(scope, 1).alarms} GROUP BY grade ORDER BY grade`, sc.params),
    whole
      ? () => q(PARK_TYPE_COUNTS, [])
      : () => q(`SELECT operation_type, status, sum(n) AS n FROM (${effectiveCounts(scopeSql(scope, 1).permits)}) e GROUP BY 1, 2 ORDER BY 1, 2`, sc.params),
    // Permits are the applicant's enterprise's (org_msp), alarms the recording device gateway's. Permits
    // per site from migration 012's counters, less the live ones that read expired by their clock; a
    // site is listed with permits or with alarms in the window.
    () =>
      q(
        `${whole && !byMonths ? `WITH ${WINDOW_DAYS} ` : ''}${jsonRows(
          `SELECT org_msp, site_id, sum(permits) AS permits, sum(live) AS live, sum(alarms) AS alarms,
                sum(response_ms) AS response_ms, sum(responded) AS responded FROM (
           SELECT org_msp, site_id, n::int AS permits, live::int AS live, 0 AS alarms, 0::float8 AS response_ms, 0 AS responded
             FROM permit_site_counts WHERE ${sc.permits} AND n <> 0
           UNION ALL SELECT org_msp, site_id, 0, -count(*)::int, 0, 0, 0 FROM permits
            WHERE status IN (${EXPIRABLE_LIST}) AND status IN (${live}) AND ${PERMIT_END} <= now() AND ${sc.permits} GROUP BY 1, 2
           UNION ALL ${
             whole
               ? byMonths
                 ? PARK_SITE_ALARM_MONTH_ROWS
                 : PARK_SITE_ALARM_ROWS
               : `SELECT recorded_by_msp, site_id, 0, 0, 1, coalesce(response_ms, 0)::float8, (response_ms IS NOT NULL)::int
                    FROM alarms WHERE recorded_at >= $1 AND recorded_at < $2 AND ${sc.alarms}`
           }) x
         GROUP BY 1, 2 HAVING sum(permits) <> 0 OR sum(alarms) > 0`,
          SITE_FIGURES,
        )}`,
        p,
      ),
  ];
  const results = await Promise.all(reads.map((read) => read()));
  type Rows = Record<string, unknown>[];
  const [[figures], violations, openByGrade, byTypeState, [perSite]] = results as [Rows, Rows, Rows, Rows, Rows];
  const alarm: Record<string, unknown> = { ...figures, p90_ms: whole ? p90From(figures) : figures!.p90_ms };
  const coverage = figures!;
  const reviews = figures!;
  const repeat = violations.find((r) => r.whole === true) ?? { units: 0, repeat_units: 0 };
  const trend = violations.filter((r) => r.whole !== true);
  const active = Number(coverage!.active);
  const units = Number(repeat.units);
  return {
    window: { from, to },
    averageAlarmResponseSeconds: alarm!.avg_ms == null ? null : Number(alarm!.avg_ms) / 1000,
    p90AlarmResponseSeconds: alarm!.p90_ms == null ? null : Number(alarm!.p90_ms) / 1000,
    alarms: Number(alarm!.n),
    openAlarmsByGrade: openByGrade.map((r) => ({ grade: Number(r.grade), count: Number(r.n) })),
    alarmsResponded: Number(alarm!.responded),
    trainingCoverage: { activeWorkers: active, coveredWorkers: Number(coverage!.covered), ratio: active ? Number(coverage!.covered) / active : null },
    repeatViolationRate: {
      workUnitsWithViolations: units,
      workUnitsWithRepeats: Number(repeat.repeat_units),
      ratio: units ? Number(repeat!.repeat_units) / units : null,
    },
    repeatViolationTrend: trend.map((r) => ({
      month: String(r.month),
      workUnitsWithViolations: Number(r.units),
      workUnitsWithRepeats: Number(r.repeat_units),
      ratio: Number(r.units) ? Number(r.repeat_units) / Number(r.units) : null,
    })),
    permitsByTypeAndState: byTypeState.map((r) => ({ operationType: String(r.operation_type), status: String(r.status), count: Number(r.n) })),
    overdueReviews: Number(reviews!.overdue),
    certificatesExpiringWithin60Days: Number(reviews!.expiring60),
    ...breakdown((perSite!.rows as SiteFigures[]).sort(byEnterpriseAndSite)),
  };
}
