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
          if (child.exitCode !== null) throw new Error(`the indexer exited with ${child.exitCode}: ${stderr}`);
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
      if (child.exitCode !== null) return;
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
