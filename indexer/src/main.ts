/**
 * Entry point: configuration, logger, database (migrated), Fabric source, HTTP endpoints, follower.
 * Exit codes: 0 after SIGINT/SIGTERM or INDEXER_STOP_AT_BLOCK; 2 on a chain integrity failure or
 * rows Postgres refuses or an event that cannot be projected;
 * 1 on a start-up error.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, MIRROR_NOTIFY_CHANNEL } from '@compliance-ledger/schema';
import { defaultParseThreads, ParseThreads } from './block-parsing.js';
import { BlockStore } from './block-store.js';
import { config, configHelp } from './config.js';
import { migrate, openDatabase } from './db.js';
import { EvidencePinner, KuboPins } from './evidence-pinner.js';
import { openFabricSource } from './fabric-source.js';
import { Follower, isFatal } from './follower.js';
import { startHttpServer } from './http-server.js';
import { createLogger } from './logger.js';
import { IndexerMetrics } from './metrics.js';
import { OrdererSignatureVerifier } from './orderer-signatures.js';
import { type PgliteSocket, startPgliteSocket } from './pglite-socket.js';

async function main(): Promise<number> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${configHelp()}\n`);
    return 0;
  }
  const cfg = config();
  const log = createLogger(cfg.LOG_LEVEL);
  const { db, pglite } = openDatabase({
    databaseUrl: cfg.DATABASE_URL,
    pgliteDir: cfg.PGLITE_DIR,
    poolMax: cfg.DATABASE_POOL_MAX,
    pgliteSharedBuffers: cfg.INDEXER_PGLITE_SHARED_BUFFERS,
  });
  log.info({ database: cfg.DATABASE_URL ? 'postgres' : `pglite:${cfg.PGLITE_DIR}`, org: cfg.INDEXER_ORG }, 'indexer starting');

  // Postgres may still be starting: retry the migrations with the same backoff as the follower.
  for (let delay = cfg.INDEXER_RETRY_MIN_MS; ; delay = Math.min(delay * 2, cfg.INDEXER_RETRY_MAX_MS)) {
    try {
      await migrate(db);
      break;
    } catch (err) {
      log.warn({ err, retryInMs: delay }, 'database unavailable for migrations; retrying');
      await sleep(delay);
    }
  }

  let socket: PgliteSocket | undefined;
  if (cfg.INDEXER_PGLITE_SOCKET_PORT !== undefined) {
    if (!pglite) throw new Error('INDEXER_PGLITE_SOCKET_PORT serves the PGlite mirror: it needs DATABASE_URL unset');
    socket = await startPgliteSocket(pglite.instance, pglite.lock, '127.0.0.1', cfg.INDEXER_PGLITE_SOCKET_PORT);
    log.info({ url: `postgres://postgres@127.0.0.1:${socket.port}/postgres` }, 'PGlite mirror served over the PostgreSQL protocol (one connection)');
  }

  const metrics = new IndexerMetrics();
  const http = await startHttpServer(metrics, cfg.INDEXER_HTTP_HOST, cfg.INDEXER_HTTP_PORT);
  log.info({ port: http.port }, 'health and metrics listening (/healthz, /metrics)');
  const source = openFabricSource({
    profilePath: cfg.LEDGER_CONNECTION_PROFILE,
    org: cfg.INDEXER_ORG,
    identity: cfg.INDEXER_IDENTITY,
    peerEndpoint: cfg.INDEXER_PEER_ENDPOINT,
    reconnectMinMs: cfg.INDEXER_RETRY_MIN_MS,
    reconnectMaxMs: cfg.INDEXER_RETRY_MAX_MS,
  });
  const parseThreads = cfg.INDEXER_PARSE_THREADS ?? defaultParseThreads(db);
  const parsing = parseThreads > 0 ? new ParseThreads(parseThreads) : undefined;
  const follower = new Follower(new BlockStore(db, { testDelayInTxMs: cfg.INDEXER_TEST_DELAY_IN_TX_MS }), source, metrics, log, {
    batchMaxBlocks: cfg.INDEXER_BATCH_MAX_BLOCKS,
    batchMaxTxs: cfg.INDEXER_BATCH_MAX_TXS,
    queueMaxBlocks: cfg.INDEXER_QUEUE_MAX_BLOCKS,
    retryMinMs: cfg.INDEXER_RETRY_MIN_MS,
    retryMaxMs: cfg.INDEXER_RETRY_MAX_MS,
    chainPollMs: cfg.INDEXER_CHAIN_POLL_MS,
    stopAtBlock: cfg.INDEXER_STOP_AT_BLOCK,
    ordererSignatures: new OrdererSignatureVerifier(),
    parsing,
    onCommitted: cfg.INDEXER_NOTIFY
      ? async (lastBlock) => {
          await db.raw('SELECT pg_notify(?, ?)', [MIRROR_NOTIFY_CHANNEL, String(lastBlock)]);
        }
      : undefined,
  });
  const pinner = cfg.INDEXER_PIN_IPFS_API_URL
    ? new EvidencePinner(
        db,
        new KuboPins(cfg.INDEXER_PIN_IPFS_API_URL),
        {
          policy: { videoRetainMs: cfg.INDEXER_PIN_VIDEO_RETAIN_MS, recordRetainMs: cfg.INDEXER_PIN_RECORD_RETAIN_MS },
          pollMs: cfg.INDEXER_PIN_POLL_MS,
          pinTimeoutMs: cfg.INDEXER_PIN_TIMEOUT_MS,
          concurrency: cfg.INDEXER_PIN_CONCURRENCY,
        },
        log.child({ component: 'evidence-pinner' }),
      )
    : undefined;
  if (pinner) log.info({ ipfs: cfg.INDEXER_PIN_IPFS_API_URL }, "pinning every evidence CID the ledger records on this org's IPFS node");
  const pinning = pinner?.run();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'stopping');
      follower.stop();
      pinner?.stop();
    });
  }
  let code = 0;
  try {
    await follower.run();
    pinner?.stop();
    await pinning;
    log.info({ lastBlock: metrics.state.lastBlock }, 'indexer stopped');
  } catch (err) {
    code = isFatal(err) ? 2 : 1;
  } finally {
    source.close();
    await parsing?.close();
    await http.close();
    await socket?.close();
    await db.destroy();
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const detail = err instanceof ConfigError ? err.message : String(err instanceof Error ? err.stack : err);
    console.error(JSON.stringify({ level: 'fatal', msg: 'indexer failed to start', err: detail }));
    process.exit(1);
  },
);
