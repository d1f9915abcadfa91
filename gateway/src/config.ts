/**
 * Every setting of the gateway, read from the environment once, validated with zod and frozen, so a
 * typo fails at start-up with the variable's name instead of at the first request. Each variable is
 * documented where it is declared. With nothing set, the gateway serves the local network
 * (`$LEDGER_RUN_DIR/connection-profile.json`) on 127.0.0.1:8080 with the embedded IPFS blockstore.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { ConfigError, connectionProfilePath, defaultLedgerRunDir, env, environmentHelp, parseEnvironment } from '@compliance-ledger/schema';
import { z } from 'zod';

const csv = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );

/** Whether the runtime's time zone data knows the name (Intl refuses unknown zones with a RangeError). */
function isTimeZone(v: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: v });
    return true;
  } catch {
    return false;
  }
}

function isAddressOrBlock(v: string): boolean {
  const [address, prefix, ...rest] = v.split('/');
  const family = net.isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const schema = z.object({
  GATEWAY_HOST: z.string().min(1).default('127.0.0.1').describe('Address the HTTP API binds to.'),
  GATEWAY_PORT: env.port(8080).describe('Port of the HTTP API (0 picks a free port).'),
  GATEWAY_PUBLIC_URL: env.url().optional().describe("Public base URL written into the OpenAPI document's `servers` (default: relative)."),
  LEDGER_CONNECTION_PROFILE: z
    .string()
    .min(1)
    .optional()
    .describe('Connection profile written by scripts/network.sh. Default $LEDGER_RUN_DIR/connection-profile.json.'),
  GATEWAY_WALLET_DIR: z
    .string()
    .min(1)
    .optional()
    .describe("Directory of the users' Fabric identities (created 0700; each key file 0600). Default $LEDGER_RUN_DIR/gateway/wallet."),
  FABRIC_CA_CLIENT: z
    .string()
    .min(1)
    .optional()
    .describe('fabric-ca-client binary used to register and enrol users (default: on PATH, else $FABRIC_HOME/bin).'),
  GATEWAY_ORG: z
    .enum(['enterprise', 'regulator', 'both'])
    .default('enterprise')
    .describe(
      "The org this gateway serves: it loads only that org's CA registrar secret and wallet, " +
        "connects through that org's peer, and refuses tokens of the other org (403 " +
        'ORG_NOT_SERVED). Run one gateway per org. `both` serves both orgs from one process, ' +
        "holding both orgs' secrets: for the test suite on one machine only, never where the orgs " +
        'are different parties.',
    ),
  GATEWAY_CA_REGISTRAR_ID: z.string().min(1).default('admin').describe("Enrollment id of the registrar of each org's Fabric CA."),
  GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      "File holding the enterprise CA registrar's secret (read only when GATEWAY_ORG serves the " +
        "enterprise). Default: the CA's bootstrap admin password in $LEDGER_RUN_DIR/ca/enterprise.",
    ),
  GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      "File holding the regulator CA registrar's secret (read only when GATEWAY_ORG serves the " +
        "regulator). Default: the CA's bootstrap admin password in $LEDGER_RUN_DIR/ca/regulator.",
    ),
  GATEWAY_EVALUATE_TIMEOUT_MS: env.durationMs(15_000).describe('Deadline of a ledger query (evaluate).'),
  GATEWAY_ENDORSE_TIMEOUT_MS: env.durationMs(30_000).describe('Deadline of collecting endorsements.'),
  GATEWAY_COMMIT_TIMEOUT_MS: env.durationMs(60_000).describe('Deadline of waiting for the commit status.'),
  GATEWAY_COMMIT_STATUS_FROM_BLOCKS: env
    .bool(true)
    .describe(
      "Learn writes' commit statuses from one stream of filtered blocks per org (@compliance-ledger/fabric-client, " +
        'commit-watcher.ts) instead of a CommitStatus call per write; false: one call per write.',
    ),
  GATEWAY_COMMIT_STREAM_FALLBACK_MS: env
    .durationMs(5_000)
    .describe(
      'How long a write waits for its transaction on that stream before asking its peer (CommitStatus) after all, ' +
        'as it does at once while the stream is down; at most GATEWAY_COMMIT_TIMEOUT_MS, which then counts again from the call.',
    ),
  GATEWAY_SUBMIT_TIMEOUT_MS: env
    .optionalDurationMs()
    .describe('Deadline of handing an endorsed transaction to the ordering service (default: GATEWAY_ENDORSE_TIMEOUT_MS).'),
  GATEWAY_CLIENT_SIGNED_TTL_MS: env
    .durationMs(300_000)
    .describe('How long a prepared client-signed transaction waits for its signatures (endorse, then submit) before it is dropped.'),
  GATEWAY_ENDORSE_ATTEMPTS: env
    .positiveInt(5)
    .describe(
      'Endorsements of one write before it is answered, the first included, when they fail in a way a retry may change ' +
        "(the other org's peer refuses while the own peer endorsed: it is behind; a peer unreachable). A chaincode refusal by " +
        "the own org's peer is answered at once. 1: no retry.",
    ),
  GATEWAY_ENDORSE_RETRY_BASE_MS: env.durationMs(250).describe('Wait before the second endorsement of a write; it doubles with each further one.'),
  GATEWAY_ENDORSE_RETRY_MAX_MS: env.durationMs(4_000).describe('Longest wait between two endorsements of one write.'),
  GATEWAY_RETRY_AFTER_SECONDS: env.positiveInt(5).describe('Retry-After (seconds) sent with 503 when the ledger or a store is unreachable.'),
  GATEWAY_LEDGER_MAX_IN_FLIGHT: env
    .positiveInt(400)
    .describe(
      "Ledger calls (writes from endorsement to commit, reads) the gateway has at its org's peer at once; keep it below the peer's " +
        'peer.limits.concurrency.gatewayService (500). Calls beyond it wait their turn.',
    ),
  GATEWAY_LEDGER_MAX_QUEUED: env.int(2_000, { min: 0 }).describe('Ledger calls that may wait for a place at the peer; one more is answered 503 at once.'),
  GATEWAY_LEDGER_QUEUE_WAIT_MS: env.durationMs(10_000).describe('How long a ledger call waits for a place at the peer before it is answered 503.'),
  DATABASE_URL: env.url().optional().describe("PostgreSQL of the indexer (regulator queries) and of the gateway's idempotency records."),
  GATEWAY_STATE_DATABASE_URL: env.url().optional().describe('Separate PostgreSQL for idempotency records (default: DATABASE_URL).'),
  DATABASE_POOL_MAX: env.positiveInt(10).describe('Maximum PostgreSQL connections per pool.'),
  DATABASE_POOL_IDLE_MS: env
    .durationMs(300_000)
    .describe(
      "How long an idle PostgreSQL connection is kept open. Each connection holds the plans of the KPIs' and reports' " +
        'statements it has run: closed after a few seconds idle, as node-postgres does by default (10 s), the next report ' +
        'planned them all again.',
    ),
  GATEWAY_IDEMPOTENCY_TTL_HOURS: env.positiveInt(24 * 7).describe('How long an idempotency record is kept, hours.'),
  GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS: env
    .optionalDurationMs()
    .describe(
      'A key whose transaction was ordered but whose commit status was lost stays `unknown` ' +
        'while the ledger does not have the transaction; this long after its first request ended ' +
        'it is released (nothing was written). Default: twice GATEWAY_COMMIT_TIMEOUT_MS, time for ' +
        'an ordered transaction to have been committed.',
    ),
  GATEWAY_IDEMPOTENCY_REPLAY_WAIT_MS: env
    .int(2_000, { min: 0 })
    .describe(
      'How long a replay waits for the outcome of a first request that is still running and has its transaction ' +
        'under way (its id recorded on the key; e.g. a retry sent at once to another gateway of the org after a lost answer) before it is ' +
        'answered 409 IDEMPOTENCY_IN_PROGRESS; 0: at once.',
    ),
  GATEWAY_JWT_HS256_SECRET: z
    .string()
    .min(32, 'use at least 32 characters')
    .optional()
    .describe('HS256 shared secret that verifies JWTs. At least one way to authenticate is needed.'),
  GATEWAY_JWT_PUBLIC_KEY_FILE: z.string().min(1).optional().describe('PEM public key file (RS256/ES256) that verifies JWTs.'),
  GATEWAY_JWT_ISSUER: z.string().min(1).optional().describe('Expected `iss` of JWTs (checked when set).'),
  GATEWAY_JWT_AUDIENCE: z.string().min(1).optional().describe('Expected `aud` of JWTs (checked when set).'),
  GATEWAY_API_KEYS_FILE: z
    .string()
    .min(1)
    .optional()
    .describe('JSON file of machine API keys: [{ "sha256": hex of the key, "sub", "org", "role", "department"?, "workerId"? }].'),
  IPFS_API_URL: env.url().optional().describe('kubo RPC API URL (e.g. http://127.0.0.1:5001). Unset: the embedded blockstore in GATEWAY_BLOCKSTORE_DIR.'),
  GATEWAY_BLOCKSTORE_DIR: z.string().min(1).optional().describe('Directory of the embedded IPFS blockstore. Default $LEDGER_RUN_DIR/gateway/blockstore.'),
  GATEWAY_EVIDENCE_MAX_BYTES: env.positiveInt(200 * 1024 * 1024).describe('Largest evidence file, bytes.'),
  GATEWAY_EVIDENCE_MEDIA_TYPES: csv('image/jpeg,image/png,video/mp4,application/pdf,text/plain').describe(
    'Media types accepted as evidence (comma-separated).',
  ),
  GATEWAY_CREDENTIAL_OFFICE_KEY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The enterprise credential office's key file (JSON {version: 1, officeId, address, privateKey}; " +
        'gate-verifier `office-key`), registered on the ledger as a device of kind credential_office. ' +
        'It signs worker codes and nothing else. Unset: the worker-code routes answer 501 NOT_CONFIGURED. ' +
        'Read only when GATEWAY_ORG serves the enterprise.',
    ),
  GATEWAY_WORKER_CODE_TTL_MS: env
    .durationMs(7 * 24 * 3_600_000)
    .describe('How long a worker code is good for; a change on the ledger supersedes it sooner. Renewed when half of it has run.'),
  GATEWAY_UPLOAD_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Directory of resumable (tus) uploads in progress; each file moves into the content store once complete. Default $LEDGER_RUN_DIR/gateway/uploads.',
    ),
  GATEWAY_ARCHIVE_SPOOL_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Directory where an archive or bundle download spools its evidence files (gigabytes with video) between the content store and the response. ' +
        'Default $LEDGER_RUN_DIR/gateway/archive-spool.',
    ),
  GATEWAY_UPLOAD_MAX_BYTES: env.positiveInt(2 * 1024 ** 3).describe('Largest resumable (tus) upload, bytes (Tus-Max-Size).'),
  GATEWAY_DOWNLOAD_TIMEOUT_MS: env.durationMs(30 * 60_000).describe('How long one evidence download may stream from the content store before it is cut off.'),
  GATEWAY_GATE_PHOTO_MAX_BYTES: env
    .positiveInt(16 * 1024 * 1024)
    .describe('Largest photo or clip of the person at the gate sent with a signed gate check, bytes (held in memory while it is checked).'),
  GATEWAY_OCR_MAX_BYTES: env.positiveInt(10 * 1024 * 1024).describe('Largest certificate image for OCR, bytes.'),
  GATEWAY_OCR_ENABLED: env.bool(true).describe('Serve certificate OCR.'),
  GATEWAY_OCR_LANG_DIR: z.string().min(1).optional().describe('OCR language data directory (default: the @tesseract.js-data packages).'),
  GATEWAY_RATE_LIMIT_PER_WINDOW: env.positiveInt(600).describe('Per-user rate limit: requests per window (token bucket refilled over the window).'),
  GATEWAY_RATE_LIMIT_WINDOW_MS: env.durationMs(60_000).describe('The rate limit window.'),
  GATEWAY_AUTH_FAILURES_PER_WINDOW: env
    .positiveInt(30)
    .describe(
      'Failed authentications per client address, and per claimed subject, and window: past it, ' +
        'only credentials that cannot be guessed get through (see signIn in http.ts), so API keys ' +
        'and tokens cannot be guessed at speed while the signed-in users behind the same address ' +
        'keep working.',
    ),
  GATEWAY_TRUSTED_PROXIES: csv('')
    .pipe(
      z.array(
        z.string().refine(isAddressOrBlock, { error: (iss) => `${String(iss.input)} is not an IP address or CIDR block (e.g. 10.0.0.5, 10.0.0.0/24, ::1)` }),
      ),
    )
    .describe(
      'Reverse proxies in front of the gateway (comma-separated IP addresses or CIDR blocks). ' +
        'Only a request arriving from one of them has its client address taken from ' +
        'X-Forwarded-For; by default none is trusted, so a client cannot pick the address its ' +
        'failed sign-ins are counted against.',
    ),
  GATEWAY_REPORT_TIME_ZONE: z
    .string()
    .default('Asia/Shanghai')
    .refine(isTimeZone, 'use an IANA time zone name such as Asia/Shanghai or UTC')
    .describe(
      "The regulator's time zone (IANA name): the monthly report's months and days begin at its midnight, " +
        'so a transaction at 23:30 UTC on the last day of a month counts in the next month in Asia/Shanghai.',
    ),
  GATEWAY_JSON_LIMIT_BYTES: env.positiveInt(256 * 1024).describe('Largest JSON body, bytes.'),
  GATEWAY_METRICS_TOKEN: z
    .string()
    .min(24, 'use at least 24 characters')
    .optional()
    .describe('Bearer token a Prometheus scraper may use for /metrics (else /metrics needs a user: enterprise admin, regulator or auditor).'),
  GATEWAY_WEB_APP_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Folder of the built supervision screen served at /app/ (default: the dist folder of the @compliance-ledger/web package; `npm run build` makes it).',
    ),
  GATEWAY_SITE_TIME_ZONE: z
    .string()
    .default('Asia/Shanghai')
    .refine(isTimeZone, 'use an IANA time zone name such as Asia/Shanghai or UTC')
    .describe("IANA time zone the supervision screen shows times in (the site's)."),
  GATEWAY_ALARM_STREAM_POLL_MS: env
    .durationMs(250)
    .describe(
      "How often the live alarm stream (/v1/alarm-stream) asks the indexer's mirror for new blocks; " +
        'one query per gateway, whatever the number of screens ' +
        '(with GATEWAY_ALARM_STREAM_LISTEN, the safety net for a missed notification).',
    ),
  GATEWAY_ALARM_STREAM_LISTEN: env
    .bool(true)
    .describe(
      "The live alarm stream also LISTENs on the indexer's notification channel (one more connection to DATABASE_URL, held while a screen is open) " +
        'and reads the mirror as soon as a batch is committed. ' +
        'Set false where DATABASE_URL takes one connection only (the PGlite socket of the embedded stack).',
    ),
  LOG_LEVEL: env.logLevel().describe('pino log level: fatal, error, warn, info, debug, trace or silent.'),
});

/** Every variable the gateway reads (the README documents each; a test checks it). */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

type Parsed = z.infer<typeof schema>;
export type GatewayConfig = Readonly<
  Omit<
    Parsed,
    | 'GATEWAY_EVIDENCE_MEDIA_TYPES'
    | 'GATEWAY_TRUSTED_PROXIES'
    | 'GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS'
    | 'GATEWAY_SUBMIT_TIMEOUT_MS'
    | 'LEDGER_CONNECTION_PROFILE'
    | 'GATEWAY_WALLET_DIR'
    | 'GATEWAY_BLOCKSTORE_DIR'
    | 'GATEWAY_UPLOAD_DIR'
    | 'GATEWAY_ARCHIVE_SPOOL_DIR'
    | 'GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE'
    | 'GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE'
  > & {
    LEDGER_CONNECTION_PROFILE: string;
    GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS: number;
    GATEWAY_SUBMIT_TIMEOUT_MS: number;
    GATEWAY_WALLET_DIR: string;
    GATEWAY_BLOCKSTORE_DIR: string;
    GATEWAY_UPLOAD_DIR: string;
    GATEWAY_ARCHIVE_SPOOL_DIR: string;
    GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE: string;
    GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE: string;
    GATEWAY_EVIDENCE_MEDIA_TYPES: readonly string[];
    GATEWAY_TRUSTED_PROXIES: readonly string[];
    /** The orgs GATEWAY_ORG serves. */
    GATEWAY_ORGS: readonly ServedOrg[];
  }
>;
export type ServedOrg = 'enterprise' | 'regulator';

/** What `gateway --help` prints. */
export function configHelp(): string {
  return environmentHelp('gateway', schema, 'With a JWT secret set it serves the local network on 127.0.0.1:8080.');
}

/** Parses a given environment (tests pass their own); throws one ConfigError naming every bad variable. */
export function parseConfig(environment: NodeJS.ProcessEnv): GatewayConfig {
  const c = parseEnvironment('gateway', schema, environment);
  if (!c.GATEWAY_JWT_HS256_SECRET && !c.GATEWAY_JWT_PUBLIC_KEY_FILE && !c.GATEWAY_API_KEYS_FILE) {
    throw new ConfigError(
      'invalid gateway configuration: no way to authenticate: set GATEWAY_JWT_HS256_SECRET, GATEWAY_JWT_PUBLIC_KEY_FILE or GATEWAY_API_KEYS_FILE',
    );
  }
  const runDir = defaultLedgerRunDir(environment);
  return Object.freeze({
    ...c,
    GATEWAY_EVIDENCE_MEDIA_TYPES: Object.freeze([...c.GATEWAY_EVIDENCE_MEDIA_TYPES]),
    GATEWAY_TRUSTED_PROXIES: Object.freeze([...c.GATEWAY_TRUSTED_PROXIES]),
    GATEWAY_ORGS: Object.freeze(c.GATEWAY_ORG === 'both' ? (['enterprise', 'regulator'] as const) : [c.GATEWAY_ORG]),
    LEDGER_CONNECTION_PROFILE: connectionProfilePath(environment),
    GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS: c.GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS ?? 2 * c.GATEWAY_COMMIT_TIMEOUT_MS,
    GATEWAY_SUBMIT_TIMEOUT_MS: c.GATEWAY_SUBMIT_TIMEOUT_MS ?? c.GATEWAY_ENDORSE_TIMEOUT_MS,
    GATEWAY_WALLET_DIR: c.GATEWAY_WALLET_DIR ?? path.join(runDir, 'gateway', 'wallet'),
    GATEWAY_BLOCKSTORE_DIR: c.GATEWAY_BLOCKSTORE_DIR ?? path.join(runDir, 'gateway', 'blockstore'),
    GATEWAY_UPLOAD_DIR: c.GATEWAY_UPLOAD_DIR ?? path.join(runDir, 'gateway', 'uploads'),
    GATEWAY_ARCHIVE_SPOOL_DIR: c.GATEWAY_ARCHIVE_SPOOL_DIR ?? path.join(runDir, 'gateway', 'archive-spool'),
    GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE: c.GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE ?? path.join(runDir, 'ca', 'enterprise', 'bootstrap-password'),
    GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE: c.GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE ?? path.join(runDir, 'ca', 'regulator', 'bootstrap-password'),
  });
}

let cached: GatewayConfig | undefined;
/** The process's configuration, parsed on first use and the same frozen object afterwards. */
export function config(): GatewayConfig {
  cached ??= parseConfig(process.env);
  return cached;
}
