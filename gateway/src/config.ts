/**
 * Every setting of the gateway, read from the environment once, validated with zod and frozen, so a
 * typo fails at start-up with the variable's name instead of at the first request. Each variable is
 * documented where it is declared. With nothing set, the gateway serves the local network
 * (`$LEDGER_RUN_DIR/connection-profile.json`) on 127.0.0.1:8080 with the embedded IPFS blockstore.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { z } from 'zod';
import { connectionProfilePath, defaultLedgerRunDir } from '@compliance-ledger/schema';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['0', '1', 'true', 'false'])
    .default(fallback ? '1' : '0')
    .transform((v) => v === '1' || v === 'true');
const csv = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));

function isAddressOrBlock(v: string): boolean {
  const [address, prefix, ...rest] = v.split('/');
  const family = net.isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const schema = z.object({
  /** Address and port of the HTTP API (0 picks a free port). */
  GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Public base URL written into the OpenAPI document's `servers` (default: relative). */
  GATEWAY_PUBLIC_URL: z.string().url().optional(),
  /** Connection profile written by scripts/network.sh; default $LEDGER_RUN_DIR/connection-profile.json. */
  LEDGER_CONNECTION_PROFILE: z.string().min(1).optional(),
  /** Directory of the users' Fabric identities (created 0700; each user's key file 0600). */
  GATEWAY_WALLET_DIR: z.string().min(1).optional(),
  /** fabric-ca-client binary used to register and enrol users (default: on PATH, else $FABRIC_HOME/bin). */
  FABRIC_CA_CLIENT: z.string().min(1).optional(),
  /** Registrar of each org's Fabric CA: enrollment id and a file holding its secret (default: the CA's bootstrap admin). */
  GATEWAY_CA_REGISTRAR_ID: z.string().min(1).default('admin'),
  GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE: z.string().min(1).optional(),
  GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE: z.string().min(1).optional(),
  /** Deadlines of ledger calls, ms. */
  GATEWAY_EVALUATE_TIMEOUT_MS: positiveInt(15_000),
  GATEWAY_ENDORSE_TIMEOUT_MS: positiveInt(30_000),
  GATEWAY_COMMIT_TIMEOUT_MS: positiveInt(60_000),
  /** Deadline of handing an endorsed transaction to the ordering service, ms (default: GATEWAY_ENDORSE_TIMEOUT_MS). */
  GATEWAY_SUBMIT_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  /** Retry-After (seconds) sent with 503 when the ledger or a store is unreachable. */
  GATEWAY_RETRY_AFTER_SECONDS: positiveInt(5),
  /** PostgreSQL of the indexer (regulator queries) and of the gateway's idempotency records. */
  DATABASE_URL: z.string().url().optional(),
  /** Separate PostgreSQL for idempotency records (default: DATABASE_URL). */
  GATEWAY_STATE_DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_MAX: positiveInt(10),
  /** How long an idempotency record is kept, hours. */
  GATEWAY_IDEMPOTENCY_TTL_HOURS: positiveInt(24 * 7),
  /**
   * A key whose transaction was ordered but whose commit status was lost stays `unknown` while the
   * ledger does not have the transaction; this long after its first request ended it is released
   * (nothing was written). Default: twice GATEWAY_COMMIT_TIMEOUT_MS, time for an ordered
   * transaction to have been committed.
   */
  GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS: z.coerce.number().int().positive().optional(),
  /** JWT verification: an HS256 shared secret, and/or a PEM public key file (RS256/ES256). At least one, or API keys. */
  GATEWAY_JWT_HS256_SECRET: z.string().min(32, 'use at least 32 characters').optional(),
  GATEWAY_JWT_PUBLIC_KEY_FILE: z.string().min(1).optional(),
  /** Expected `iss` and `aud` of JWTs (checked when set). */
  GATEWAY_JWT_ISSUER: z.string().min(1).optional(),
  GATEWAY_JWT_AUDIENCE: z.string().min(1).optional(),
  /** JSON file of machine API keys: [{ "sha256": hex of the key, "sub", "org", "role", "department"?, "workerId"? }]. */
  GATEWAY_API_KEYS_FILE: z.string().min(1).optional(),
  /** IPFS: kubo RPC API URL (e.g. http://127.0.0.1:5001). Unset: the embedded blockstore in GATEWAY_BLOCKSTORE_DIR. */
  IPFS_API_URL: z.string().url().optional(),
  GATEWAY_BLOCKSTORE_DIR: z.string().min(1).optional(),
  /** Evidence upload: largest file, bytes, and the allowed media types (comma-separated). */
  GATEWAY_EVIDENCE_MAX_BYTES: positiveInt(200 * 1024 * 1024),
  GATEWAY_EVIDENCE_MEDIA_TYPES: csv('image/jpeg,image/png,video/mp4,application/pdf,text/plain'),
  /** Certificate OCR: largest image, bytes; language data directory (default: the @tesseract.js-data packages). */
  GATEWAY_OCR_MAX_BYTES: positiveInt(10 * 1024 * 1024),
  GATEWAY_OCR_ENABLED: bool(true),
  GATEWAY_OCR_LANG_DIR: z.string().min(1).optional(),
  /** Per-user rate limit: requests per window (token bucket refilled over the window). */
  GATEWAY_RATE_LIMIT_PER_WINDOW: positiveInt(600),
  GATEWAY_RATE_LIMIT_WINDOW_MS: positiveInt(60_000),
  /**
   * Failed authentications per client address, and per claimed subject, and window: past it, only
   * credentials that cannot be guessed get through (see signIn in http.ts), so API keys and tokens
   * cannot be guessed at speed while the signed-in users behind the same address keep working.
   */
  GATEWAY_AUTH_FAILURES_PER_WINDOW: positiveInt(30),
  /**
   * Reverse proxies in front of the gateway (comma-separated IP addresses or CIDR blocks). Only a
   * request arriving from one of them has its client address taken from X-Forwarded-For; by default
   * none is trusted, so a client cannot pick the address its failed sign-ins are counted against.
   */
  GATEWAY_TRUSTED_PROXIES: csv('').pipe(
    z.array(
      z.string().refine(isAddressOrBlock, { error: (iss) => `${String(iss.input)} is not an IP address or CIDR block (e.g. 10.0.0.5, 10.0.0.0/24, ::1)` }),
    ),
  ),
  /** Largest JSON body, bytes. */
  GATEWAY_JSON_LIMIT_BYTES: positiveInt(256 * 1024),
  /** Bearer token a Prometheus scraper may use for /metrics (else /metrics needs a user: enterprise admin, regulator or auditor). */
  GATEWAY_METRICS_TOKEN: z.string().min(24, 'use at least 24 characters').optional(),
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Every variable the gateway reads (the README documents each; a test checks it). */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

type Parsed = z.infer<typeof schema>;
export type GatewayConfig = Readonly<
  Omit<Parsed, 'GATEWAY_EVIDENCE_MEDIA_TYPES' | 'GATEWAY_TRUSTED_PROXIES' | 'GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS' | 'GATEWAY_SUBMIT_TIMEOUT_MS' | 'LEDGER_CONNECTION_PROFILE' | 'GATEWAY_WALLET_DIR' | 'GATEWAY_BLOCKSTORE_DIR' | 'GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE' | 'GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE'> & {
    LEDGER_CONNECTION_PROFILE: string;
    GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS: number;
    GATEWAY_SUBMIT_TIMEOUT_MS: number;
    GATEWAY_WALLET_DIR: string;
    GATEWAY_BLOCKSTORE_DIR: string;
    GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE: string;
    GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE: string;
    GATEWAY_EVIDENCE_MEDIA_TYPES: readonly string[];
    GATEWAY_TRUSTED_PROXIES: readonly string[];
  }
>;

/** Parses a given environment (tests pass their own); throws one error naming every bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv): GatewayConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid gateway configuration: ${problems}`);
  }
  const c = result.data;
  if (!c.GATEWAY_JWT_HS256_SECRET && !c.GATEWAY_JWT_PUBLIC_KEY_FILE && !c.GATEWAY_API_KEYS_FILE) {
    throw new Error(
      'invalid gateway configuration: no way to authenticate: set GATEWAY_JWT_HS256_SECRET, GATEWAY_JWT_PUBLIC_KEY_FILE or GATEWAY_API_KEYS_FILE',
    );
  }
  const runDir = defaultLedgerRunDir(env);
  return Object.freeze({
    ...c,
    GATEWAY_EVIDENCE_MEDIA_TYPES: Object.freeze([...c.GATEWAY_EVIDENCE_MEDIA_TYPES]),
    GATEWAY_TRUSTED_PROXIES: Object.freeze([...c.GATEWAY_TRUSTED_PROXIES]),
    LEDGER_CONNECTION_PROFILE: connectionProfilePath(env),
    GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS: c.GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS ?? 2 * c.GATEWAY_COMMIT_TIMEOUT_MS,
    GATEWAY_SUBMIT_TIMEOUT_MS: c.GATEWAY_SUBMIT_TIMEOUT_MS ?? c.GATEWAY_ENDORSE_TIMEOUT_MS,
    GATEWAY_WALLET_DIR: c.GATEWAY_WALLET_DIR ?? path.join(runDir, 'gateway', 'wallet'),
    GATEWAY_BLOCKSTORE_DIR: c.GATEWAY_BLOCKSTORE_DIR ?? path.join(runDir, 'gateway', 'blockstore'),
    GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE:
      c.GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE ?? path.join(runDir, 'ca', 'enterprise', 'bootstrap-password'),
    GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE:
      c.GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE ?? path.join(runDir, 'ca', 'regulator', 'bootstrap-password'),
  });
}

let cached: GatewayConfig | undefined;
/** The process's configuration, parsed on first use and the same frozen object afterwards. */
export function config(): GatewayConfig {
  cached ??= parseConfig(process.env);
  return cached;
}
