/**
 * Benchmark (not part of `npm test`): what the rollup triggers cost the indexer's writes, on PGlite
 * as `npm start` runs it, with the migrations up to BENCH_BASE_MIGRATION (default 012) against all
 * of them, alternating BENCH_ROUNDS times. The catch-up bench's channel is mostly heartbeats, which
 * fire no domain trigger; this writes domain rows the way the projection does: each batch of
 * BENCH_BATCH permits inserted, then moved through three statuses (each an update of every column,
 * as the projection's upsert), one alarm per ten permits recorded then acknowledged, one flag per
 * hundred permits, each permit's trail (gas tests, gate checks, evidence: migration 017's
 * triggers); one transaction per batch, as the indexer writes a batch of blocks.
 *
 *   BENCH_PERMITS=20000 npx tsx bench/trigger-cost.bench.ts
 *
 * Prints, per variant and round, the CPU microseconds of this process (PGlite runs in it) per permit.
 */
import type { Knex } from 'knex';
import { migrate, openDatabase } from '../src/db.js';
import { migrationSource } from '../src/migrations/index.js';

const PERMITS = Number(process.env.BENCH_PERMITS ?? 20_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 250);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BASE = process.env.BENCH_BASE_MIGRATION ?? '012';

/** The migrations up to and including the one whose name starts with `last` (all of them when undefined). */
function upTo(last: string | undefined): Knex.MigrationSource<unknown> {
  return {
    ...migrationSource,
    getMigrations: async (loadExtensions) => {
      const all = await migrationSource.getMigrations(loadExtensions);
      if (last === undefined) return all;
      const end = all.findIndex((m) => migrationSource.getMigrationName(m).startsWith(last));
      return all.slice(0, end + 1);
    },
  } as Knex.MigrationSource<unknown>;
}

async function writeDomain(db: Knex): Promise<void> {
  const statuses = ['issued', 'active', 'closed'];
  for (let lo = 1; lo <= PERMITS; lo += BATCH) {
    const hi = Math.min(PERMITS, lo + BATCH - 1);
    await db.transaction(async (tx) => {
      await tx.raw(
        `INSERT INTO permits (permit_no, org_msp, operation_type, level, requested_level, status, site_id, zone_id, work_unit, fire_explosion_zone,
                              night_or_holiday, planned_start, planned_end, template_version, applied_at, status_changed_at, record, block_number, tx_id)
         SELECT 'P-' || g, 'E' || (g % 20) || 'MSP', (ARRAY['hot_work', 'lifting', 'excavation'])[1 + g % 3], '2', '2', 'applied',
                'site-' || (g % 100), 'zone-' || (g % 7), 'unit-' || (g % 30), false, false, now() - (g || ' minutes')::interval,
                now() - (g || ' minutes')::interval + interval '8 hours', 1, now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval,
                '{}'::jsonb, 1, md5(g::text)
           FROM generate_series(?::int, ?::int) g`,
        [lo, hi],
      );
      for (const status of statuses) {
        await tx.raw(
          `UPDATE permits SET status = ?, status_changed_at = now(), org_msp = org_msp, site_id = site_id, zone_id = zone_id, work_unit = work_unit,
                  record = record WHERE permit_no IN (SELECT 'P-' || g FROM generate_series(?::int, ?::int) g)`,
          [status, lo, hi],
        );
      }
      await tx.raw(
        `INSERT INTO alarms (alarm_id, device_id, device_kind, site_id, area_id, grade, kind, score_bp, model_version, status, observed_at, recorded_at,
                             recorded_by_msp, suspended_permit_nos, record, block_number, tx_id)
         SELECT 'A-' || g, 'dev-' || (g % 700), 'gas_detector', 'site-' || (g % 100), 'zone-' || (g % 7), 1 + g % 4, 'gas_leak', 9000, 'm1', 'open',
                now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval, 'E' || (g % 20) || 'MSP', '[]'::jsonb, '{}'::jsonb, 1, md5(g::text)
           FROM generate_series(?::int, ?::int, 10) g`,
        [lo, hi],
      );
      await tx.raw(
        `UPDATE alarms SET status = 'acknowledged', acknowledged_at = recorded_at + interval '40 seconds', response_ms = 40000
          WHERE alarm_id IN (SELECT 'A-' || g FROM generate_series(?::int, ?::int, 10) g)`,
        [lo, hi],
      );
      // The permit's trail, about as gateway/test/support/indexer.ts `syntheticTrail` shapes it: three
      // gas tests a hot work permit, two gate checks and two evidence files a permit.
      await tx.raw(
        `INSERT INTO gas_tests (test_id, permit_no, lel_class, flammable_vol_pct, oxygen_vol_pct, toxic, passed, failures, sample_taken_at, recorded_at,
                                analyst_msp, block_number, tx_id)
         SELECT 'GT-' || g || '-' || k, 'P-' || g, 'lel_ge_4', 0.1, 20.9, '[]'::jsonb, (g + k) % 25 <> 0, '[]'::jsonb,
                now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval + (k || ' hours')::interval, 'E0MSP', 1, md5(g::text)
           FROM generate_series(?::int, ?::int) g, generate_series(0, 2) k WHERE g % 3 = 0`,
        [lo, hi],
      );
      await tx.raw(
        `INSERT INTO gate_checks (gate_check_id, permit_no, worker_id, at, passed, qr_passed, face_passed, face_score_bp, face_device_id,
                                  certificate_passed, certificate_reason, health_passed, recorded_by_msp, block_number, tx_id)
         SELECT 'GC-' || g || '-' || k, 'P-' || g, 'W-' || k, now() - (g || ' minutes')::interval, true, true, true, 9000, 'gate', true, '', true,
                'E0MSP', 1, md5(g::text)
           FROM generate_series(?::int, ?::int) g, generate_series(0, 1) k`,
        [lo, hi],
      );
      await tx.raw(
        `INSERT INTO evidence (permit_no, step, cid, sha256, size_bytes, media_type, captured_at, recorded_by_msp, recorded_at, block_number, tx_id)
         SELECT 'P-' || g, 'completion', 'cid-' || g || '-' || k, md5(g::text), 1, 'image/jpeg', now() - (g || ' minutes')::interval, 'E0MSP', now(),
                1, md5(g::text)
           FROM generate_series(?::int, ?::int) g, generate_series(0, 1) k`,
        [lo, hi],
      );
      await tx.raw(
        `INSERT INTO investigation_flags (flag_id, permit_no, reason, flagged_by_msp, at, block_number, tx_id)
         SELECT 'F-' || g, 'P-' || g, 'violation', 'RegulatorMSP', now() - (g || ' minutes')::interval, 1, md5(g::text)
           FROM generate_series(?::int, ?::int, 100) g`,
        [lo, hi],
      );
    });
  }
}

async function main(): Promise<void> {
  console.log(`# Domain writes through the rollup triggers, PGlite in memory: ${PERMITS} permits, ${BATCH} a transaction`);
  console.log('| migrations | round | seconds | CPU µs per permit |');
  console.log('|---|---|---|---|');
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of [BASE, undefined]) {
      const { db } = openDatabase({ pgliteDir: 'memory' });
      try {
        await db.migrate.latest({ migrationSource: upTo(variant) });
        if (variant === undefined) await migrate(db);
        const cpu = process.cpuUsage();
        const t0 = performance.now();
        await writeDomain(db);
        const seconds = (performance.now() - t0) / 1000;
        const used = process.cpuUsage(cpu);
        console.log(`| up to ${variant ?? 'the latest'} | ${round} | ${seconds.toFixed(1)} | ${((used.user + used.system) / PERMITS).toFixed(0)} |`);
      } finally {
        await db.destroy();
      }
    }
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
