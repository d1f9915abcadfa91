/** Runs the real indexer (indexer/src/main.ts) against a test database, and waits for it to catch up. */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface RunningIndexer {
  process: ChildProcess;
  /**
   * Until the mirror holds `block`. Fails when its checkpoint has not moved for `stallMs` (default
   * 60 s): a new mirror of a developer's long-lived channel catches up from block 0 for minutes,
   * which a fixed deadline took for a fault.
   */
  waitForBlock(block: number, stallMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function startIndexer(databaseUrl: string, env: Record<string, string> = {}): RunningIndexer {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'indexer', 'src', 'main.ts')], {
    cwd: path.join(repoRoot, 'indexer'),
    env: { ...process.env, DATABASE_URL: databaseUrl, INDEXER_HTTP_PORT: '0', LOG_LEVEL: 'warn', INDEXER_CHAIN_POLL_MS: '500', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  return {
    process: child,
    async waitForBlock(block, stallMs = 60_000) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        let seen = -1;
        let until = Date.now() + stallMs;
        for (;;) {
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the indexer exited with ${child.exitCode ?? child.signalCode}: ${stderr}`);
          const r = await client.query('SELECT last_block FROM checkpoint WHERE id = 1').catch(() => ({ rows: [] as { last_block: string }[] }));
          const at = r.rows[0] ? Number(r.rows[0].last_block) : -1;
          if (at >= block) return;
          if (at > seen) {
            seen = at;
            until = Date.now() + stallMs;
          }
          if (Date.now() > until) throw new Error(`the indexer did not reach block ${block}: stuck at ${seen} for ${stallMs} ms: ${stderr}`);
          await new Promise((res) => setTimeout(res, 200));
        }
      } finally {
        await client.end();
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise<void>((res) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          res();
        }, 10_000);
        child.once('exit', () => {
          clearTimeout(t);
          res();
        });
      });
    },
  };
}

/**
 * A mirror with `n` synthetic permits for benchmarks: the indexer migrates the database (and stops
 * at block 0), then the rows go straight into its `permits` table — 8 operation types, 8 states,
 * 50 sites (`shape.sites`), 7 zones, one a minute back from now — and are analysed as autovacuum
 * would. With `shape.orgs` > 1 each site belongs to one of that many enterprises
 * (`E<i>MSP`). With `shape.swept` the permits whose planned window ended (applied 8 hours ago or
 * more) in a status that expires read `expired`, as the reporter's sweeper records it; without it
 * they stay as recorded (the sweeper never ran). Returns the number of permits in the table.
 */
const PERMIT_CHUNK = 50_000;

export async function syntheticPermits(
  databaseUrl: string,
  n: number,
  shape: { orgs?: number; sites?: number; swept?: boolean; migrated?: boolean } = {},
): Promise<number> {
  const orgs = shape.orgs ?? 1;
  const sites = shape.sites ?? 50;
  // `migrated`: the caller migrated the database (a PGlite served over its socket, say).
  const idx = shape.migrated ? undefined : startIndexer(databaseUrl, { INDEXER_STOP_AT_BLOCK: '0' });
  if (idx) await new Promise<void>((r) => idx.process.once('exit', () => r()));
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    // By PERMIT_CHUNK permits a statement (one transaction each), as the indexer writes batches:
    // in one transaction each counter row's updates walk its own dead versions (quadratic).
    for (let lo = 1; lo <= n; lo += PERMIT_CHUNK) {
      await c.query(
        `INSERT INTO permits (permit_no, org_msp, operation_type, level, requested_level, status, site_id, zone_id, work_unit, fire_explosion_zone,
                            night_or_holiday, planned_start, planned_end, template_version, applied_at, status_changed_at, record, block_number, tx_id)
       SELECT 'SYN-' || g, CASE WHEN $2::int = 1 THEN 'EnterpriseMSP' ELSE 'E' || (g % $3::int) % $2::int || 'MSP' END,
              (ARRAY['hot_work','confined_space','work_at_height','lifting','temporary_electricity','blind_plate','excavation','road_breaking'])[1 + g % 8],
              '2', '2', CASE WHEN $4::boolean AND g >= 480 AND (g / 8) % 8 < 4 THEN 'expired'
                        ELSE (ARRAY['applied','issued','active','suspended','completed','closed','cancelled','rejected'])[1 + (g / 8) % 8] END,
              'site-' || (g % $3::int), 'zone-' || (g % 7), 'unit-' || (g % 30), g % 3 = 0, false,
              now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval + interval '8 hours', 1,
              now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval, '{}'::jsonb, 1, md5(g::text)
         FROM generate_series($5::int, least($6::int, $1::int)) g`,
        [n, orgs, sites, shape.swept ?? false, lo, lo + PERMIT_CHUNK - 1],
      );
    }
    await c.query('VACUUM ANALYZE permits'); // the steady state autovacuum keeps: visibility map for index-only scans
    await compactCounters(c, ['permit_counts', 'permit_days', 'permit_site_counts', 'permit_site_months', 'permit_type_counts', 'violation_flags']);
    return Number((await c.query('SELECT count(*) FROM permits')).rows[0].count);
  } finally {
    await c.end();
    await idx?.stop();
  }
}

/**
 * A bulk insert updates each counter the triggers keep (migrations 010–013) once per row in one
 * transaction, leaving as many dead versions in the counters' tables; the indexer's batches (at
 * most INDEXER_BATCH_MAX_TXS transactions) and autovacuum keep them near their live size, which is
 * what they are compacted to here.
 */
async function compactCounters(c: pg.Client, tables: string[]): Promise<void> {
  for (const t of tables) await c.query(`VACUUM FULL ANALYZE ${t}`);
}

/**
 * The rest of a regulator's mirror around `syntheticPermits(databaseUrl, n, shape)`, for the query
 * benchmarks: one device per site and zone, `n / 10` alarms (one every ten minutes back from now,
 * 4 grades, nine in ten acknowledged, all but the newest day's closed), `n / 50` workers with two
 * certificates each (valid until 0–3 years from now), an investigation flag on every 200th permit
 * and every 100th suspended permit suspended for a violation. Analysed as autovacuum would.
 */
export async function syntheticSurroundings(databaseUrl: string, n: number, shape: { orgs?: number; sites?: number } = {}): Promise<void> {
  const orgs = shape.orgs ?? 1;
  const sites = shape.sites ?? 50;
  const org = (site: string) => `CASE WHEN $2::int = 1 THEN 'EnterpriseMSP' ELSE 'E' || (${site}) % $2::int || 'MSP' END`;
  const provenance = `1, md5(g::text || $4)`;
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const run = async (sql: string, count: number, tag: string) => c.query(sql, [count, orgs, sites, tag]);
    // Workers and certificates by 2,000 workers a statement (one transaction each), as the indexer
    // writes them in batches: migration 012's day counters take every worker's span on a handful of
    // days, and one transaction updating one counter row tens of thousands of times walks an
    // ever longer chain of its own dead versions (quadratic; the 1 M bench's load did not finish).
    const byWorkers = async (sql: string, tag: string) => {
      for (let lo = 1; lo <= n / 50; lo += 2000) await c.query(sql, [n, orgs, sites, tag, lo, lo + 1999]);
    };
    await run(
      `INSERT INTO devices (device_id, owner_msp, site_id, area_id, address, kind, status, registered_at, block_number, tx_id)
       SELECT 'dev-' || g, ${org('g / 7')}, 'site-' || (g / 7), 'zone-' || (g % 7), md5(g::text), 'gas_detector', 'active', now() - interval '3 years',
              ${provenance}
         FROM generate_series(0, $3::int * 7 - 1 + 0 * $1) g`,
      0,
      'd',
    );
    await run(
      `INSERT INTO alarms (alarm_id, device_id, device_kind, site_id, area_id, grade, kind, score_bp, model_version, status, observed_at, recorded_at,
                           recorded_by_msp, acknowledged_at, response_ms, closed_at, suspended_permit_nos, record, block_number, tx_id)
       SELECT 'AL-' || g, 'dev-' || ((g % $3::int) * 7 + g % 7), 'gas_detector', 'site-' || (g % $3::int), 'zone-' || (g % 7), 1 + g % 4, 'gas_leak',
              9000, 'm1', CASE WHEN g <= 144 THEN (CASE WHEN g % 10 = 0 THEN 'open' ELSE 'acknowledged' END) ELSE 'closed' END,
              now() - (10 * g || ' minutes')::interval, now() - (10 * g || ' minutes')::interval, ${org('g % $3::int')},
              CASE WHEN g % 10 <> 0 THEN now() - (10 * g || ' minutes')::interval + ((30 + g % 300) || ' seconds')::interval END,
              CASE WHEN g % 10 <> 0 THEN (30 + g % 300) * 1000 END,
              CASE WHEN g > 144 THEN now() - (10 * g || ' minutes')::interval + interval '1 hour' END,
              '[]'::jsonb, '{}'::jsonb, ${provenance}
         FROM generate_series(1, $1::int / 10) g`,
      n,
      'a',
    );
    await byWorkers(
      `INSERT INTO workers (worker_id, status, registered_by_msp, registered_at, block_number, tx_id)
       SELECT 'W-' || g, CASE WHEN g % 20 = 0 THEN 'inactive' ELSE 'active' END, ${org('g % $3::int')}, now() - interval '3 years', ${provenance}
         FROM generate_series($5::int, least($6::int, $1::int / 50)) g`,
      'w',
    );
    await byWorkers(
      `INSERT INTO certificates (certificate_id, worker_id, category, item, authority, valid_from, valid_until, review_due, status, scan_sha256,
                                 added_by_msp, added_at, block_number, tx_id)
       SELECT 'C-' || g || '-' || k, 'W-' || g, (ARRAY['welding_cutting', 'guardian'])[k], 'item', 'authority', now() - interval '3 years',
              now() + ((g * 7 + k * 31) % 1095 || ' days')::interval, now() + ((g * 13 + k) % 730 - 30 || ' days')::interval,
              CASE WHEN g % 40 = 0 THEN 'revoked' ELSE 'valid' END, md5(g::text), ${org('g % $3::int')}, now() - interval '3 years', ${provenance}
         FROM generate_series($5::int, least($6::int, $1::int / 50)) g, generate_series(1, 2) k`,
      'c',
    );
    await run(
      `INSERT INTO investigation_flags (flag_id, permit_no, reason, flagged_by_msp, at, block_number, tx_id)
       SELECT 'F-' || g, 'SYN-' || g, 'violation', 'RegulatorMSP', now() - (g || ' minutes')::interval + interval '1 hour', ${provenance}
         FROM generate_series(200, $1::int, 200) g WHERE $2::int > 0 AND $3::int > 0`,
      n,
      'f',
    );
    await run(
      `UPDATE permits SET suspension_reason = 'violation'
        WHERE status = 'suspended' AND permit_no IN (SELECT 'SYN-' || g FROM generate_series(0, $1::int, 100) g)
         AND $2::int > 0 AND $3::int > 0 AND $4 <> ''`,
      n,
      's',
    );
    for (const t of ['devices', 'alarms', 'workers', 'certificates', 'investigation_flags', 'permits', 'worker_coverage', 'counted_certificates']) {
      await c.query(`VACUUM ANALYZE ${t}`);
    }
    await compactCounters(c, [
      'alarm_days',
      'alarm_response_days',
      'alarm_site_months',
      'alarm_site_spans',
      'alarm_site_running_totals',
      'violation_flags',
      'worker_counts',
      'coverage_start_days',
      'coverage_end_days',
      'certificate_review_days',
      'certificate_expiry_days',
    ]);
  } finally {
    await c.end();
  }
}

/**
 * The trail a park's permits leave besides their own rows, for the permits `g` of syntheticPermits
 * with g % every = 0: three gas tests for each hot work and confined space permit (the test before
 * work and two re-tests, 2 h apart; one in 25 fails), a gate check for each of two workers 30 min
 * after applying (one in 50 fails), and two evidence files (captured 3 h and 6 h after applying),
 * about 4.75 rows a permit; none later than now. A monthly report counts them; without them its
 * figures would be read from empty tables.
 */
export async function syntheticTrail(databaseUrl: string, n: number, shape: { orgs?: number; every?: number } = {}): Promise<void> {
  const orgs = shape.orgs ?? 1;
  const every = shape.every ?? 1;
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const applied = `now() - (g || ' minutes')::interval`;
    const analyst = `CASE WHEN $4::int = 1 THEN 'EnterpriseMSP' ELSE 'E' || g % $4::int || 'MSP' END`;
    for (let lo = 1; lo <= n; lo += PERMIT_CHUNK) {
      const params = [lo, Math.min(n, lo + PERMIT_CHUNK - 1), every, orgs];
      const permits = 'generate_series($1::int, $2::int) g';
      const sampled = 'g % $3::int = 0';
      await c.query(
        `INSERT INTO gas_tests (test_id, permit_no, lel_class, flammable_vol_pct, oxygen_vol_pct, toxic, passed, failures, sample_taken_at, recorded_at,
                                analyst_msp, block_number, tx_id)
         SELECT 'GT-' || g || '-' || k, 'SYN-' || g, 'lel_ge_4', CASE WHEN (g + k) % 25 = 0 THEN 0.8 ELSE 0.1 END, 20.9, '[]'::jsonb,
                (g + k) % 25 <> 0, CASE WHEN (g + k) % 25 = 0 THEN '["flammable"]'::jsonb ELSE '[]'::jsonb END,
                ${applied} + (2 * k || ' hours')::interval - interval '5 minutes', ${applied} + (2 * k || ' hours')::interval, ${analyst}, 1,
                md5('gt' || g || k)
           FROM ${permits}, generate_series(0, 2) k WHERE ${sampled} AND g % 8 < 2 AND ${applied} + (2 * k || ' hours')::interval <= now()`,
        params,
      );
      await c.query(
        `INSERT INTO gate_checks (gate_check_id, permit_no, worker_id, at, passed, qr_passed, face_passed, face_score_bp, face_device_id,
                                  certificate_passed, certificate_reason, health_passed, recorded_by_msp, block_number, tx_id)
         SELECT 'GC-' || g || '-' || k, 'SYN-' || g, 'W-' || (2 * g + k) % 20000, ${applied} + interval '30 minutes', (g + k) % 50 <> 0, true, true, 9500,
                'gate-' || g % 1000, (g + k) % 50 <> 0, CASE WHEN (g + k) % 50 = 0 THEN 'expired' ELSE '' END, true, ${analyst}, 1, md5('gc' || g || k)
           FROM ${permits}, generate_series(0, 1) k WHERE ${sampled} AND ${applied} + interval '30 minutes' <= now()`,
        params,
      );
      await c.query(
        `INSERT INTO evidence (permit_no, step, cid, sha256, size_bytes, media_type, captured_at, recorded_by_msp, recorded_at, block_number, tx_id)
         SELECT 'SYN-' || g, (ARRAY['signing_off', 'completion'])[k], 'bafk' || md5('ev' || g || k), md5('ev' || g || k), 250000, 'image/jpeg',
                ${applied} + (3 * k || ' hours')::interval, ${analyst}, ${applied} + (3 * k || ' hours')::interval + interval '1 minute', 1, md5('ev' || g || k)
           FROM ${permits}, generate_series(1, 2) k WHERE ${sampled} AND ${applied} + (3 * k || ' hours')::interval + interval '1 minute' <= now()`,
        params,
      );
    }
    for (const t of ['gas_tests', 'gate_checks', 'evidence']) await c.query(`VACUUM ANALYZE ${t}`);
  } finally {
    await c.end();
  }
}
