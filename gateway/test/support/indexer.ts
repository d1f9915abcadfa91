/** Runs the real indexer (indexer/src/main.ts) against a test database, and waits for it to catch up. */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface RunningIndexer {
  process: ChildProcess;
  waitForBlock(block: number, timeoutMs?: number): Promise<void>;
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
    async waitForBlock(block, timeoutMs = 60_000) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const until = Date.now() + timeoutMs;
        for (;;) {
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the indexer exited with ${child.exitCode ?? child.signalCode}: ${stderr}`);
          const r = await client.query('SELECT last_block FROM checkpoint WHERE id = 1').catch(() => ({ rows: [] as { last_block: string }[] }));
          if (r.rows[0] && Number(r.rows[0].last_block) >= block) return;
          if (Date.now() > until) throw new Error(`the indexer did not reach block ${block} in ${timeoutMs} ms: ${stderr}`);
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
 * 50 sites, 7 zones, one a minute back from now — and are analysed as autovacuum would. Returns
 * the number of permits in the table.
 */
export async function syntheticPermits(databaseUrl: string, n: number): Promise<number> {
  const idx = startIndexer(databaseUrl, { INDEXER_STOP_AT_BLOCK: '0' });
  await new Promise<void>((r) => idx.process.once('exit', () => r()));
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query(
      `INSERT INTO permits (permit_no, org_msp, operation_type, level, requested_level, status, site_id, zone_id, work_unit, fire_explosion_zone,
                            night_or_holiday, planned_start, planned_end, template_version, applied_at, status_changed_at, record, block_number, tx_id)
       SELECT 'SYN-' || g, 'EnterpriseMSP',
              (ARRAY['hot_work','confined_space','work_at_height','lifting','temporary_electricity','blind_plate','excavation','road_breaking'])[1 + g % 8],
              '2', '2', (ARRAY['applied','issued','active','suspended','completed','closed','cancelled','rejected'])[1 + (g / 8) % 8],
              'site-' || (g % 50), 'zone-' || (g % 7), 'unit-' || (g % 30), g % 3 = 0, false,
              now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval + interval '8 hours', 1,
              now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval, '{}'::jsonb, 1, md5(g::text)
         FROM generate_series(1, $1) g`,
      [n],
    );
    await c.query('VACUUM ANALYZE permits'); // the steady state autovacuum keeps: visibility map for index-only scans
    return Number((await c.query('SELECT count(*) FROM permits')).rows[0].count);
  } finally {
    await c.end();
    await idx.stop();
  }
}
