import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, connectionProfileSchema, env, environmentHelp, parseEnvironment } from '@compliance-ledger/schema';
import { z } from 'zod';

/**
 * Every environment variable the reporter reads, parsed once at start-up; the rest of the code
 * gets the frozen result and never reads process.env, so tests pass plain objects.
 */
export const environmentSchema = z.object({
  REPORTER_FABRIC_CONNECTION_PROFILE: z
    .string()
    .min(1)
    .describe(
      'Connection profile written by scripts/network.sh up ' +
        '($LEDGER_RUN_DIR/connection-profile.json): the peer, TLS CA, MSP id, channel and ' +
        'chaincode of REPORTER_FABRIC_ORG.',
    ),
  REPORTER_FABRIC_ORG: z
    .enum(['enterprise', 'regulator'])
    .default('enterprise')
    .describe('Organization whose peer and MSP the sweeper uses; its identity must carry ledger.role=sweeper.'),
  REPORTER_FABRIC_IDENTITY_DIR: z
    .string()
    .min(1)
    .describe(
      'Folder of the sweeper identity as scripts/enroll-user.sh prints it ' +
        '(msp/signcerts/cert.pem and one msp/keystore/*_sk), e.g. after `enroll-user.sh enterprise ' +
        'reporter-sweeper sweeper`.',
    ),
  REPORTER_FABRIC_TIMEOUT_MS: env
    .durationMs(15_000)
    .describe('Deadline of each gateway call (evaluate, endorse, submit); the commit wait gets four times as long.'),
  REPORTER_SWEEP_PERIOD_MS: env
    .durationMs(30_000)
    .describe(
      'How often the sweeper asks the ledger what the clock made due (permit:ListDue) and ' +
        'records it; a permit is expired on the ledger at most about one period after its validity ' +
        'ends.',
    ),
  REPORTER_SWEEP_BATCH: env
    .positiveInt(200)
    .describe('Most permits of each kind (expired, monitoring overdue) acted on per period; the rest wait for the next.'),
  REPORTER_HTTP_HOST: z.string().default('127.0.0.1').describe('Listen address of /healthz, /metrics and the push API (/v1/*).'),
  REPORTER_HTTP_PORT: env.port(9466).describe('Listen port of /healthz, /metrics and the push API (0: any free port).'),
  REPORTER_PUSH_ENABLED: env
    .bool(true)
    .describe('Run the push reporter (follows chaincode events, delivers them to the subscriptions, serves /v1/*); false runs the sweeper alone.'),
  REPORTER_PUSH_DIR: z
    .string()
    .default('./reporter-data')
    .describe(
      'Folder of the durable outbox (outbox.jsonl: subscriptions, queued deliveries, dead ' +
        'letters, the follower checkpoint) and of the Ed25519 signing key (push-signing-key.pem, ' +
        'created on the first start).',
    ),
  REPORTER_PUSH_SIGNING_KEY_FILE: env
    .optionalText()
    .describe('Ed25519 PKCS#8 PEM key that signs every delivery; default $REPORTER_PUSH_DIR/push-signing-key.pem, created if missing.'),
  REPORTER_PUSH_API_TOKEN: env
    .optionalText()
    .describe(
      'Bearer token the regulator sends to /v1/subscriptions, /v1/dead-letters and /v1/replays (at least 16 characters); required when push is enabled.',
    ),
  REPORTER_PUSH_START_BLOCK: env
    .int(0, { min: 0 })
    .describe('Block the follower starts at when the outbox has no checkpoint yet (a new outbox); afterwards it resumes from its checkpoint.'),
  REPORTER_PUSH_TIMEOUT_MS: env.durationMs(10_000).describe('How long one delivery waits for the receiver to answer before it counts as failed.'),
  REPORTER_PUSH_RETRY_BASE_MS: env.durationMs(1_000).describe('Wait after the first failed attempt; it doubles with each further failure.'),
  REPORTER_PUSH_RETRY_MAX_MS: env.durationMs(600_000).describe('Longest wait between two attempts of one delivery.'),
  REPORTER_PUSH_MAX_ATTEMPTS: env
    .positiveInt(12)
    .describe('Attempts after which a delivery moves to the dead letters (GET /v1/dead-letters) and the next one of its permit may go.'),
  REPORTER_PUSH_CONCURRENCY: env.positiveInt(8).describe('Most deliveries in flight at once (still one per subscription and permit or alarm).'),
  LOG_LEVEL: env.logLevel().describe('pino log level: fatal, error, warn, info, debug, trace or silent.'),
});

export interface FabricIdentityConfig {
  peerEndpoint: string;
  peerHostAlias: string | undefined;
  tlsCaCertPath: string;
  mspId: string;
  certPath: string;
  keyPath: string;
  channel: string;
  chaincode: string;
  timeoutMs: number;
}

export interface PushConfig {
  dir: string;
  signingKeyFile: string;
  apiToken: string;
  startBlock: bigint;
  requestTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxAttempts: number;
  concurrency: number;
}

export interface ReporterConfig {
  fabric: FabricIdentityConfig;
  sweep: { periodMs: number; batch: number };
  http: { host: string; port: number };
  push: PushConfig | null;
  logLevel: string;
}

export function loadConfig(environment: Readonly<Record<string, string | undefined>>): ReporterConfig {
  const e = parseEnvironment('reporter', environmentSchema, environment);
  const profileFile = e.REPORTER_FABRIC_CONNECTION_PROFILE;
  if (!existsSync(profileFile))
    throw new ConfigError(`REPORTER_FABRIC_CONNECTION_PROFILE: ${profileFile} does not exist; run 'bash scripts/network.sh up' or point it at the profile`);
  const profile = connectionProfileSchema.parse(JSON.parse(readFileSync(profileFile, 'utf8')));
  const org = profile.organizations[e.REPORTER_FABRIC_ORG];
  const keystore = join(e.REPORTER_FABRIC_IDENTITY_DIR, 'msp', 'keystore');
  const certPath = join(e.REPORTER_FABRIC_IDENTITY_DIR, 'msp', 'signcerts', 'cert.pem');
  const keyFile = existsSync(keystore) ? readdirSync(keystore).find((f) => f.endsWith('_sk')) : undefined;
  if (keyFile === undefined || !existsSync(certPath)) {
    throw new ConfigError(
      `REPORTER_FABRIC_IDENTITY_DIR: ${e.REPORTER_FABRIC_IDENTITY_DIR} has no msp/signcerts/cert.pem and ` +
        `msp/keystore/*_sk; enrol it with scripts/enroll-user.sh`,
    );
  }
  let push: PushConfig | null = null;
  if (e.REPORTER_PUSH_ENABLED) {
    if (e.REPORTER_PUSH_API_TOKEN === undefined || e.REPORTER_PUSH_API_TOKEN.length < 16) {
      throw new ConfigError('REPORTER_PUSH_API_TOKEN: set a token of at least 16 characters for the push API, or REPORTER_PUSH_ENABLED=false');
    }
    push = Object.freeze({
      dir: e.REPORTER_PUSH_DIR,
      signingKeyFile: e.REPORTER_PUSH_SIGNING_KEY_FILE ?? join(e.REPORTER_PUSH_DIR, 'push-signing-key.pem'),
      apiToken: e.REPORTER_PUSH_API_TOKEN,
      startBlock: BigInt(e.REPORTER_PUSH_START_BLOCK),
      requestTimeoutMs: e.REPORTER_PUSH_TIMEOUT_MS,
      retryBaseMs: e.REPORTER_PUSH_RETRY_BASE_MS,
      retryMaxMs: e.REPORTER_PUSH_RETRY_MAX_MS,
      maxAttempts: e.REPORTER_PUSH_MAX_ATTEMPTS,
      concurrency: e.REPORTER_PUSH_CONCURRENCY,
    });
  }
  return Object.freeze({
    push,
    fabric: Object.freeze({
      peerEndpoint: org.peer.endpoint,
      peerHostAlias: org.peer.hostAlias,
      tlsCaCertPath: org.peer.tlsCaFile,
      mspId: org.mspId,
      certPath,
      keyPath: join(keystore, keyFile),
      channel: profile.channel,
      chaincode: profile.chaincode,
      timeoutMs: e.REPORTER_FABRIC_TIMEOUT_MS,
    }),
    sweep: Object.freeze({ periodMs: e.REPORTER_SWEEP_PERIOD_MS, batch: e.REPORTER_SWEEP_BATCH }),
    http: Object.freeze({ host: e.REPORTER_HTTP_HOST, port: e.REPORTER_HTTP_PORT }),
    logLevel: e.LOG_LEVEL,
  });
}

export function helpText(): string {
  return environmentHelp('reporter', environmentSchema, 'The reporter: its sweeper records on the ledger what the clock makes due.');
}
