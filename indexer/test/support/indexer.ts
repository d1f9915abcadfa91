/**
 * Runs the indexer for tests: in-process (the real Follower, real Fabric source) or as a child
 * process (`node --import tsx src/main.ts`) that a test can kill -9.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { pino } from 'pino';
import { defaultParseThreads, ParseThreads } from '../../src/block-parsing.js';
import { BlockStore } from '../../src/block-store.js';
import { toNumber } from '../../src/db.js';
import { type BlockSource, openFabricSource } from '../../src/fabric-source.js';
import { Follower, type FollowerOptions } from '../../src/follower.js';
import { IndexerMetrics } from '../../src/metrics.js';
import { OrdererSignatureVerifier } from '../../src/orderer-signatures.js';
import { connectionProfilePath } from './network.js';

export const indexerDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunningIndexer {
  follower: Follower;
  metrics: IndexerMetrics;
  source: BlockSource;
  /** Settles when run() ends: resolved on stop/stopAtBlock, rejected on a fatal error. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export function startIndexer(
  db: Knex,
  options: Partial<FollowerOptions> & {
    peerEndpoint?: string;
    testDelayInTxMs?: number;
    wrapSource?: (s: BlockSource) => BlockSource;
    /** Block-parsing threads, as INDEXER_PARSE_THREADS (0: on the follower's thread). Default: the indexer's for `db`. */
    parseThreads?: number;
  } = {},
): RunningIndexer {
  const parseThreads = options.parseThreads ?? defaultParseThreads(db);
  const parsing = parseThreads > 0 ? new ParseThreads(parseThreads) : undefined;
  const real = openFabricSource({ profilePath: connectionProfilePath(), org: 'regulator', identity: 'client', peerEndpoint: options.peerEndpoint });
  const source = options.wrapSource ? options.wrapSource(real) : real;
  const metrics = new IndexerMetrics();
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const follower = new Follower(new BlockStore(db, { testDelayInTxMs: options.testDelayInTxMs ?? 0 }), source, metrics, log, {
    batchMaxBlocks: 100,
    batchMaxTxs: 5000,
    queueMaxBlocks: 500,
    retryMinMs: 100,
    retryMaxMs: 1000,
    chainPollMs: 500,
    ordererSignatures: new OrdererSignatureVerifier(),
    parsing,
    ...options,
  });
  const done = follower.run().finally(() => parsing?.close());
  done.catch(() => undefined);
  return {
    follower,
    metrics,
    source,
    done,
    async stop() {
      follower.stop();
      try {
        await done;
      } finally {
        source.close();
      }
    },
  };
}

export async function lastIndexedBlock(db: Knex): Promise<number> {
  const row = await db('checkpoint').where({ id: 1 }).first('last_block');
  return toNumber(row.last_block);
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // The database may be restarting; keep polling until the deadline.
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ChildIndexer {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns the indexer as its own process, configured only through the environment. */
export function spawnIndexer(env: Record<string, string>): ChildIndexer {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: indexerDir,
    env: { ...process.env, LEDGER_CONNECTION_PROFILE: connectionProfilePath(), INDEXER_HTTP_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exit };
}

/** Base URL of a child indexer's /healthz and /metrics, read from its start-up log line (port 0 picks one). */
export async function indexerHttpBase(indexer: ChildIndexer, timeoutMs = 60_000): Promise<string> {
  let port: number | undefined;
  await waitFor(
    async () => {
      for (const line of indexer.output().split('\n')) {
        if (!line.includes('health and metrics listening')) continue;
        port = (JSON.parse(line) as { port: number }).port;
      }
      return port !== undefined || indexer.child.exitCode !== null;
    },
    timeoutMs,
    "the indexer's HTTP port in its log",
  );
  if (port === undefined) throw new Error(`the indexer exited with ${indexer.child.exitCode}: ${indexer.output()}`);
  return `http://127.0.0.1:${port}`;
}

/** Current channel height from the peer. */
export async function chainHeight(): Promise<number> {
  const source = openFabricSource({ profilePath: connectionProfilePath(), org: 'regulator', identity: 'client' });
  try {
    return (await source.chainInfo()).height;
  } finally {
    source.close();
  }
}

/** Indexes blocks 0..top into `reference` without interruption and compares every raw table. */
export async function expectSameAsUninterrupted(db: Knex, reference: Knex, top: number): Promise<void> {
  const ref = startIndexer(reference, { stopAtBlock: top });
  await ref.done;
  ref.source.close();
  const { dumpTable, RAW_TABLES } = await import('./database.js');
  const { expect } = await import('chai');
  for (const [table, order] of Object.entries(RAW_TABLES)) {
    const a = await dumpTable(db, table, order, ['indexed_at', 'updated_at']);
    const b = await dumpTable(reference, table, order, ['indexed_at', 'updated_at']);
    expect(a.length, `${table} row count`).to.equal(b.length);
    expect(a, table).to.deep.equal(b);
  }
}
