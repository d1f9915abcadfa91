/**
 * Every setting of the indexer, read from the environment once, validated with zod and frozen, so
 * a typo fails at start-up instead of at the first block. Each variable is documented where it is
 * declared; `npm start` with no variable set indexes the local network into PGlite.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { connectionProfilePath, defaultLedgerRunDir } from '@compliance-ledger/schema';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);


const schema = z.object({
  /** PostgreSQL URL (postgres://user@host:port/db). Unset: an embedded PGlite database (see PGLITE_DIR). */
  DATABASE_URL: z.string().url().optional(),
  /** Directory of the PGlite database when DATABASE_URL is unset; `memory` keeps it in memory. */
  PGLITE_DIR: z.string().min(1).optional(),
  /**
   * With PGlite only: serve the mirror over the PostgreSQL wire protocol on 127.0.0.1 and this port,
   * so that another process (the gateway's DATABASE_URL) can read it. Unset: not served. One client
   * connection at a time (a client pool must have one connection); no authentication, loopback
   * only. See src/pglite-socket.ts for how its queries and the indexer's batches take turns.
   */
  INDEXER_PGLITE_SOCKET_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Maximum PostgreSQL connections (ignored by PGlite, which has exactly one). */
  DATABASE_POOL_MAX: positiveInt(5),
  /** Connection profile written by scripts/network.sh; default $LEDGER_RUN_DIR/connection-profile.json. */
  LEDGER_CONNECTION_PROFILE: z.string().min(1).optional(),
  /** Org whose peer is followed and whose identity connects. The regulator by default: it reads all. */
  INDEXER_ORG: z.enum(['regulator', 'enterprise']).default('regulator'),
  /** Which of the org's identities in the profile connects: its plain client (default) or admin. */
  INDEXER_IDENTITY: z.enum(['client', 'admin']).default('client'),
  /** host:port overriding the peer endpoint of the profile (the TLS host alias stays the profile's). */
  INDEXER_PEER_ENDPOINT: z.string().min(3).optional(),
  /** HTTP port of /healthz and /metrics (0 picks a free port). */
  INDEXER_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** Address the HTTP server binds to. */
  INDEXER_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** Most blocks written in one Postgres transaction while catching up. */
  INDEXER_BATCH_MAX_BLOCKS: positiveInt(100),
  /** Most transactions written in one Postgres transaction (a batch closes at the first limit hit). */
  INDEXER_BATCH_MAX_TXS: positiveInt(5000),
  /**
   * Parsed blocks buffered ahead of the writer before the block stream is paused. Bounds memory:
   * with the channel's 2 MB preferred block size, 100 blocks stay under about 200 MB.
   */
  INDEXER_QUEUE_MAX_BLOCKS: positiveInt(100),
  /** How often the chain height is asked from the peer (qscc GetChainInfo), ms. */
  INDEXER_CHAIN_POLL_MS: positiveInt(2000),
  /**
   * First and largest wait between reconnect attempts (peer or Postgres), ms; doubles each failure.
   * Also bounds gRPC's own reconnect backoff to the peer.
   */
  INDEXER_RETRY_MIN_MS: positiveInt(250),
  INDEXER_RETRY_MAX_MS: positiveInt(10_000),
  /** Index up to and including this block, then exit with code 0 (benchmarks and tests). */
  INDEXER_STOP_AT_BLOCK: z.coerce.number().int().min(0).optional(),
  /** Test only: sleep this long inside each write transaction, before COMMIT, to widen the crash window. */
  INDEXER_TEST_DELAY_IN_TX_MS: z.coerce.number().int().min(0).default(0),
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type IndexerConfig = Readonly<
  Omit<z.infer<typeof schema>, 'LEDGER_CONNECTION_PROFILE' | 'PGLITE_DIR'> & { LEDGER_CONNECTION_PROFILE: string; PGLITE_DIR: string }
>;

/** Parses a given environment (tests pass their own); throws one error listing every bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv): IndexerConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid indexer configuration: ${problems}`);
  }
  const c = result.data;
  return Object.freeze({
    ...c,
    LEDGER_CONNECTION_PROFILE: connectionProfilePath(env),
    PGLITE_DIR: c.PGLITE_DIR ?? path.join(defaultLedgerRunDir(env), 'indexer-pglite'),
  });
}

let cached: IndexerConfig | undefined;
/** The process's configuration, parsed on first use and the same frozen object afterwards. */
export function config(): IndexerConfig {
  cached ??= parseConfig(process.env);
  return cached;
}
