/**
 * Every setting of the indexer, read from the environment once, validated with zod and frozen, so
 * a typo fails at start-up instead of at the first block. Each variable is documented where it is
 * declared; `npm start` with no variable set indexes the local network into PGlite.
 */
import * as path from 'node:path';
import { connectionProfilePath, defaultLedgerRunDir, env, environmentHelp, MIRROR_NOTIFY_CHANNEL, parseEnvironment } from '@compliance-ledger/schema';
import { z } from 'zod';

/**
 * PGlite's Postgres keeps its buffer pool in the WebAssembly memory and touches all of it at start:
 * with the 128MB that initdb writes into postgresql.conf, that was 150 MiB resident per process
 * before the first query. The mirror is written by appends and read by indexed lookups; what the
 * smaller pool costs the catch-up is in bench/RESULTS.md (stack memory).
 */
export const PGLITE_SHARED_BUFFERS_DEFAULT = '16MB';

const schema = z.object({
  DATABASE_URL: env.url().optional().describe('PostgreSQL URL (postgres://user@host:port/db). Unset: an embedded PGlite database (see PGLITE_DIR).'),
  PGLITE_DIR: z
    .string()
    .min(1)
    .optional()
    .describe('Directory of the PGlite database when DATABASE_URL is unset; `memory` keeps it in memory. Default $LEDGER_RUN_DIR/indexer-pglite.'),
  INDEXER_PGLITE_SOCKET_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .optional()
    .describe(
      'With PGlite only: serve the mirror over the PostgreSQL wire protocol on 127.0.0.1 and ' +
        "this port, so that another process (the gateway's DATABASE_URL) can read it. Unset: not " +
        'served. One client connection at a time, no authentication, loopback only ' +
        '(src/pglite-socket.ts).',
    ),
  INDEXER_PGLITE_SHARED_BUFFERS: z
    .string()
    .regex(/^[1-9][0-9]*(kB|MB|GB)$/, 'expected a size such as 16MB (kB, MB or GB)')
    .default(PGLITE_SHARED_BUFFERS_DEFAULT)
    .describe(
      "With PGlite only: Postgres's shared_buffers. PGlite holds and touches all of it in the process's " +
        'memory from the start, so it is resident whether the mirror needs it or not (src/db.ts).',
    ),
  DATABASE_POOL_MAX: env.positiveInt(5).describe('Maximum PostgreSQL connections (ignored by PGlite, which has exactly one).'),
  LEDGER_CONNECTION_PROFILE: z
    .string()
    .min(1)
    .optional()
    .describe('Connection profile written by scripts/network.sh. Default $LEDGER_RUN_DIR/connection-profile.json.'),
  INDEXER_ORG: z
    .enum(['regulator', 'enterprise'])
    .default('regulator')
    .describe('Org whose peer is followed and whose identity connects. The regulator by default: it reads all.'),
  INDEXER_IDENTITY: z.enum(['client', 'admin']).default('client').describe("Which of the org's identities in the profile connects: its plain client or admin."),
  INDEXER_PEER_ENDPOINT: z
    .string()
    .min(3)
    .optional()
    .describe("host:port overriding the peer endpoint of the profile (the TLS host alias stays the profile's)."),
  INDEXER_HTTP_PORT: env.port(9464).describe('HTTP port of /healthz and /metrics (0 picks a free port).'),
  INDEXER_HTTP_HOST: z.string().min(1).default('127.0.0.1').describe('Address the HTTP server binds to.'),
  INDEXER_BATCH_MAX_BLOCKS: env.positiveInt(100).describe('Most blocks written in one Postgres transaction while catching up.'),
  INDEXER_BATCH_MAX_TXS: env.positiveInt(5000).describe('Most transactions written in one Postgres transaction (a batch closes at the first limit hit).'),
  INDEXER_QUEUE_MAX_BLOCKS: env
    .positiveInt(100)
    .describe(
      'Parsed blocks buffered ahead of the writer before the block stream is paused. Bounds ' +
        "memory: with the channel's 2 MB preferred block size, 100 blocks stay under about 200 MB.",
    ),
  INDEXER_PARSE_THREADS: z.coerce
    .number()
    .int()
    .min(0)
    .max(16)
    .optional()
    .describe(
      'Worker threads that parse blocks (src/block-parsing.ts) while the main thread writes them; 0 parses on the main thread. ' +
        'Unset: 1 with PGlite, whose writes run on the main thread (a second core for the catch-up), 0 with DATABASE_URL, ' +
        "where the server writes and the thread's start and hand-over only added CPU (bench/RESULTS.md).",
    ),
  INDEXER_CHAIN_POLL_MS: env.durationMs(2000).describe('How often the chain height is asked from the peer (qscc GetChainInfo).'),
  INDEXER_NOTIFY: env
    .bool(true)
    .describe(
      `After each committed batch, NOTIFY ${MIRROR_NOTIFY_CHANNEL} with the newest block, so the gateway's live alarm stream wakes at once ` +
        '(it LISTENs with GATEWAY_ALARM_STREAM_LISTEN). Costs one statement per batch.',
    ),
  INDEXER_RETRY_MIN_MS: env
    .durationMs(250)
    .describe("First wait before reconnecting (peer or Postgres); doubles each failure. Also bounds gRPC's own reconnect backoff to the peer."),
  INDEXER_RETRY_MAX_MS: env.durationMs(10_000).describe('Longest wait between reconnect attempts.'),
  INDEXER_STOP_AT_BLOCK: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Index up to and including this block, then exit with code 0 (benchmarks and tests).'),
  INDEXER_TEST_DELAY_IN_TX_MS: env
    .durationMs(0, { min: 0 })
    .describe('Test only: sleep this long inside each write transaction, before COMMIT, to widen the crash window.'),
  INDEXER_PIN_IPFS_API_URL: env
    .url()
    .optional()
    .describe(
      "kubo RPC API of this org's own IPFS node (the regulator's). " +
        "Set: every evidence and alarm-clip CID the ledger records is pinned there, fetched from the enterprise's node over IPFS, " +
        'and unpinned when its retention has passed. Unset: nothing is pinned.',
    ),
  INDEXER_PIN_POLL_MS: env.durationMs(5000).describe('How often the pinner looks for newly recorded CIDs and expired pins.'),
  INDEXER_PIN_TIMEOUT_MS: env
    .durationMs(600_000)
    .describe('How long one pin may take (the whole clip is fetched from the other node); a pin that fails is retried next round.'),
  INDEXER_PIN_CONCURRENCY: env.positiveInt(4).describe('How many CIDs are pinned at the same time.'),
  INDEXER_PIN_VIDEO_RETAIN_MS: env
    .durationMs(31 * 24 * 3_600_000, { min: 30 * 24 * 3_600_000 })
    .describe(
      'How long plain video (not tied to an alarm or incident) stays pinned after it is recorded: GB 30871 asks for at least one month, so at least 720h.',
    ),
  INDEXER_PIN_RECORD_RETAIN_MS: env
    .durationMs((6 * 365 + 2) * 24 * 3_600_000, { min: (6 * 365 + 2) * 24 * 3_600_000 })
    .describe("How long alarm clips, incident video and the permit's documents and photos stay pinned: the six-year record (at least 52608h)."),
  LOG_LEVEL: env.logLevel().describe('pino log level: fatal, error, warn, info, debug, trace or silent.'),
});

export type IndexerConfig = Readonly<
  Omit<z.infer<typeof schema>, 'LEDGER_CONNECTION_PROFILE' | 'PGLITE_DIR'> & { LEDGER_CONNECTION_PROFILE: string; PGLITE_DIR: string }
>;

/** What `indexer --help` prints. */
export function configHelp(): string {
  return environmentHelp('indexer', schema, 'With none set it mirrors the local network into PGlite.');
}

/** Parses a given environment (tests pass their own); throws one ConfigError listing every bad variable. */
export function parseConfig(environment: NodeJS.ProcessEnv): IndexerConfig {
  const c = parseEnvironment('indexer', schema, environment);
  return Object.freeze({
    ...c,
    LEDGER_CONNECTION_PROFILE: connectionProfilePath(environment),
    PGLITE_DIR: c.PGLITE_DIR ?? path.join(defaultLedgerRunDir(environment), 'indexer-pglite'),
  });
}

let cached: IndexerConfig | undefined;
/** The process's configuration, parsed on first use and the same frozen object afterwards. */
export function config(): IndexerConfig {
  cached ??= parseConfig(process.env);
  return cached;
}
