/**
 * Indexer benchmark on the real network and real PostgreSQL.
 *
 *   1. Load: makes sure the channel holds at least BENCH_MIN_TXS transactions (default 10,000),
 *      submitting heartbeats (BENCH_CONCURRENCY in flight) when it holds fewer.
 *   2. Catch-up: indexes the whole channel from block 0 into a fresh PostgreSQL database (and,
 *      with BENCH_PGLITE=1, into PGlite: in memory, or in the fresh folder BENCH_PGLITE_DIR as
 *      `npm start` keeps it, with shared_buffers BENCH_PGLITE_SHARED_BUFFERS or the indexer's
 *      default) and reports transactions per second and CPU per transaction.
 *   3. Live lag: with the indexer caught up, submits BENCH_LIVE_TXS heartbeats and measures, per
 *      transaction, the time from its commit status (the client learns it is committed) to its row
 *      being visible in Postgres: p50, p99, max.
 *
 * Run: TEST_DATABASE_URL=postgres://… LEDGER_RUN_DIR=… npx tsx bench/catchup.bench.ts
 * Prints one JSON object with the figures at the end.
 */
import { performance } from 'node:perf_hooks';
import { toNumber } from '../src/db.js';
import { loadProfile, openFabricSource } from '../src/fabric-source.js';
import { createPglite, createTestDatabase } from '../test/support/database.js';
import { chainHeight, lastIndexedBlock, startIndexer } from '../test/support/indexer.js';
import { connectionProfilePath, enterpriseSubmitter, type SubmitResult, submitMany } from '../test/support/network.js';

const MIN_TXS = Number(process.env.BENCH_MIN_TXS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 200);
const LIVE_TXS = Number(process.env.BENCH_LIVE_TXS ?? 500);
const LIVE_CONCURRENCY = Number(process.env.BENCH_LIVE_CONCURRENCY ?? 20);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** CPU seconds (user + system) of this process since `from`; the bench client's own share is small during catch-up. */
const cpuSeconds = (from: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e6;
};

const log = (msg: string, extra: object = {}) => console.error(JSON.stringify({ t: new Date().toISOString(), msg, ...extra }));

async function main(): Promise<void> {
  const profile = loadProfile(connectionProfilePath());
  const result: Record<string, unknown> = {};

  // 1. Load: count the channel's transactions with a first indexing pass, then top up.
  const db = await createTestDatabase('bench');
  try {
    const submitter = enterpriseSubmitter(profile);
    let top = (await chainHeight()) - 1;
    {
      const pre = startIndexer(db.db, { stopAtBlock: top });
      await pre.done;
      pre.source.close();
    }
    const existing = toNumber((await db.db('transactions').count<{ n: unknown }[]>({ n: '*' }))[0]!.n);
    log('channel before load', { blocks: top + 1, transactions: existing });
    if (existing < MIN_TXS) {
      const missing = MIN_TXS - existing;
      const t0 = performance.now();
      const submitted = await submitMany(submitter, missing, CONCURRENCY, 0);
      const seconds = (performance.now() - t0) / 1000;
      result.load = { submitted: submitted.length, seconds: +seconds.toFixed(1), submitTps: +(submitted.length / seconds).toFixed(0) };
      log('load submitted', result.load as object);
    }
    top = (await chainHeight()) - 1;
    await db.drop();

    // 2. Catch-up from empty into PostgreSQL.
    const fresh = await createTestDatabase('benchcatchup');
    try {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const run = startIndexer(fresh.db, { stopAtBlock: top });
      await run.done;
      run.source.close();
      const seconds = (performance.now() - t0) / 1000;
      const cpu = cpuSeconds(c0);
      const txs = toNumber((await fresh.db('transactions').count<{ n: unknown }[]>({ n: '*' }))[0]!.n);
      result.catchupPostgres = {
        blocks: top + 1,
        transactions: txs,
        seconds: +seconds.toFixed(2),
        txPerSecond: +(txs / seconds).toFixed(0),
        blocksPerSecond: +((top + 1) / seconds).toFixed(0),
        indexerCpuUsPerTx: Math.round((cpu * 1e6) / txs),
      };
      log('catch-up into PostgreSQL', result.catchupPostgres as object);

      if (process.env.BENCH_PGLITE === '1') {
        const dir = process.env.BENCH_PGLITE_DIR;
        const lite = await createPglite(dir, process.env.BENCH_PGLITE_SHARED_BUFFERS);
        const l0 = performance.now();
        const lc = process.cpuUsage();
        const r = startIndexer(lite, { stopAtBlock: top });
        await r.done;
        r.source.close();
        const ls = (performance.now() - l0) / 1000;
        result.catchupPglite = {
          storage: dir ?? 'memory',
          transactions: txs,
          seconds: +ls.toFixed(2),
          txPerSecond: +(txs / ls).toFixed(0),
          // The process's CPU over the catch-up (PGlite runs in it): the rate one free core allows.
          indexerCpuUsPerTx: Math.round((cpuSeconds(lc) * 1e6) / txs),
        };
        log('catch-up into PGlite', result.catchupPglite as object);
        await lite.destroy();
      }

      // 3. Live lag: the indexer follows the head while transactions are submitted.
      const live = startIndexer(fresh.db, {});
      const visible = new Map<string, number>();
      let polling = true;
      let seen = await lastIndexedBlock(fresh.db);
      const poller = (async () => {
        while (polling) {
          const rows = await fresh.db('transactions').where('block_number', '>', seen).select('tx_id', 'block_number');
          const now = Date.now();
          for (const r of rows) {
            if (!visible.has(r.tx_id)) visible.set(r.tx_id, now);
            seen = Math.max(seen, toNumber(r.block_number));
          }
          await new Promise((res) => setTimeout(res, 5));
        }
      })();
      // Warm up: connections open and the indexer at the head before anything is measured.
      await submitMany(submitter, LIVE_CONCURRENCY, LIVE_CONCURRENCY, 0);
      const head = (await chainHeight()) - 1;
      while ((await lastIndexedBlock(fresh.db)) < head) await new Promise((r) => setTimeout(r, 20));
      // A second block stream from the same (regulator) peer records when each block reaches a
      // client at all: it splits the lag into the peer's part and the indexer's part.
      const observer = openFabricSource({ profilePath: connectionProfilePath(), org: 'regulator', identity: 'client' });
      const arrivals = new Map<number, number>();
      const observed = await observer.blocks(head + 1);
      const watching = (async () => {
        try {
          for await (const b of observed) arrivals.set(b.getHeader()!.getNumber(), Date.now());
        } catch {
          // closed at the end of the measurement
        }
      })();
      const submitted: SubmitResult[] = await submitMany(submitter, LIVE_TXS, LIVE_CONCURRENCY, 0);
      const deadline = Date.now() + 30_000;
      while (submitted.some((s) => !visible.has(s.txId)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      polling = false;
      await poller;
      observed.close();
      await watching;
      observer.close();
      const split = (f: (s: SubmitResult) => number | undefined) => {
        const v = submitted
          .map(f)
          .filter((x): x is number => x !== undefined)
          .sort((a, b) => a - b);
        return { p50: percentile(v, 50), p99: percentile(v, 99) };
      };
      result.liveLagSplitMs = {
        commitStatusToBlockAtRegulatorClient: split((s) => (arrivals.has(s.blockNumber) ? arrivals.get(s.blockNumber)! - s.committedAt : undefined)),
        blockAtRegulatorClientToRowVisible: split((s) =>
          arrivals.has(s.blockNumber) && visible.has(s.txId) ? visible.get(s.txId)! - arrivals.get(s.blockNumber)! : undefined,
        ),
      };
      await live.stop();
      const lags = submitted
        .filter((s) => visible.has(s.txId))
        .map((s) => Math.max(0, visible.get(s.txId)! - s.committedAt))
        .sort((a, b) => a - b);
      result.liveLagMs = {
        transactions: submitted.length,
        visible: lags.length,
        p50: percentile(lags, 50),
        p99: percentile(lags, 99),
        max: lags[lags.length - 1],
        note: 'from the client receiving the commit status to the row being visible in Postgres; negative values (indexer faster than the status) count as 0',
      };
      log('live lag', result.liveLagMs as object);
    } finally {
      await fresh.drop();
    }
    submitter.close();
  } catch (err) {
    await db.drop().catch(() => undefined);
    throw err;
  }
  result.machine = { cpus: (await import('node:os')).cpus().length, loadAverage1m: (await import('node:os')).loadavg()[0] };
  console.log(JSON.stringify(result, null, 2));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
