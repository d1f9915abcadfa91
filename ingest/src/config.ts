import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CHAINCODE_NAME,
  CHANNEL_NAME,
  ConfigError,
  type ConnectionProfile,
  connectionProfileSchema,
  ENTERPRISE_MSP,
  env,
  environmentHelp,
  formatZodIssues,
  parseEnvironment,
} from '@compliance-ledger/schema';
import { z } from 'zod';
import type { FabricLedgerConfig } from './outbox/fabric-ledger.js';
import type { GradingRules } from './pipeline/grading.js';

/**
 * Every environment variable the service reads, parsed and checked once at start-up. Domain code
 * receives the frozen result and never looks at process.env, so tests pass plain objects.
 */
const DEFAULT_MANIFEST = fileURLToPath(new URL('../model/manifest.json', import.meta.url));

const optionalText = env.optionalText();

export const environmentSchema = z
  .object({
    INGEST_MQTT_URL: optionalText.describe('Broker URL (mqtt://host:port). Unset: start the embedded aedes broker.'),
    INGEST_MQTT_CLIENT_ID: z
      .string()
      .min(1)
      .default('compliance-ingest')
      .describe('Fixed client id: the broker keeps this persistent session (clean: false) and its queued QoS 1 messages.'),
    INGEST_MQTT_USERNAME: optionalText.describe('Broker user name, if the broker wants one.'),
    INGEST_MQTT_PASSWORD: optionalText.describe('Broker password.'),
    INGEST_MQTT_MAX_BATCH: env
      .positiveInt(256)
      .describe(
        'Most MQTT messages handled together: the single readings that arrived while the previous batch was handled are scored in one ' +
          'inference call and acknowledged in one write. Up to twice this many wait unacknowledged.',
      ),
    INGEST_EMBEDDED_MQTT_HOST: z.string().default('127.0.0.1').describe('Listen address of the embedded broker.'),
    INGEST_EMBEDDED_MQTT_PORT: env.port(1883).describe('Listen port of the embedded broker.'),
    INGEST_TOPIC_ROOT: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('ledger')
      .describe('First topic level; the service subscribes to {root}/v1/#.'),
    INGEST_DATA_DIR: z.string().min(1).default('./data').describe('Folder of the outbox and the dead-letter store; must survive restarts.'),
    INGEST_IPFS_API_URL: env
      .url()
      .optional()
      .describe("kubo RPC API URL for cameras' verified clips (e.g. http://127.0.0.1:5001). Unset: the embedded blockstore in INGEST_CLIP_DIR."),
    INGEST_CLIP_DIR: z
      .string()
      .min(1)
      .optional()
      .describe("Embedded blockstore of cameras' verified clips when INGEST_IPFS_API_URL is unset (not replicated). Default {INGEST_DATA_DIR}/clips."),
    INGEST_DEVICE_REGISTRY_FILE: z
      .string()
      .min(1)
      .describe(
        "The devices' public addresses (JSON, see `simulator registry`); required. A file holding a private key is refused: ingest holds no device key.",
      ),
    INGEST_SERVICE_KEY_FILE: z
      .string()
      .min(1)
      .describe(
        "Ingest's own key and service id (JSON, see `simulator service-key`), registered on the " +
          'ledger as a device of kind ingest_service; it signs gradings. Required.',
      ),
    INGEST_MAX_FUTURE_SKEW_MS: env
      .durationMs(300_000, { min: 0 })
      .describe('Messages stamped more than this into the future go to the dead-letter store (device clock off).'),
    INGEST_REQUIRE_SIGNED_MESSAGES: env
      .bool(true)
      .describe(
        'Refuse (dead-letter) messages without a valid device signature, vendor payloads included. ' +
          'false: a site without signing devices opts out; their alarms rest on the ingest service ' +
          'signature alone and the ledger records them only for devices registered with ' +
          'signsReadings false.',
      ),
    INGEST_DEVICE_KEY_TABLES: env
      .int(64, { min: 0 })
      .describe(
        'Devices whose public key is kept as a precomputed table (about 380 KB each), the first that sign: their ' +
          'messages are verified in about a seventh of the time a recovery of the signer takes; devices beyond them ' +
          'are checked by recovery. 0: every message recovers its signer.',
      ),
    INGEST_MODEL_MANIFEST: z.string().default(DEFAULT_MANIFEST).describe('Model manifest; the .onnx it names must match its sha256.'),
    INGEST_INFERENCE_BATCH: env.positiveInt(256).describe('Largest inference batch.'),
    INGEST_INFERENCE_MAX_DELAY_MS: env.durationMs(0, { min: 0 }).describe('How long a partial batch may wait for more rows (0: next event-loop turn).'),
    INGEST_INFERENCE_THREADS: env.positiveInt(1).describe('onnxruntime intra-op threads.'),
    INGEST_DEDUP_WINDOW_MS: env.durationMs(60_000).describe('One alarm per area and kind per window of this length.'),
    INGEST_READING_TTL_MS: env.durationMs(120_000).describe('A reading older than this no longer describes its area.'),
    INGEST_DETECTION_TTL_MS: env.durationMs(60_000).describe('How long a detection counts for its area.'),
    INGEST_SITE_UTC_OFFSET_MINUTES: z.coerce
      .number()
      .int()
      .min(-720)
      .max(840)
      .default(480)
      .describe('Site clock offset from UTC, for the time-of-day features (480: China).'),
    INGEST_DEFAULT_GAS_LEL_VOL_PCT: env.number(5).describe("LEL (% by volume) assumed when a reading does not name its gas (methane's)."),
    INGEST_O2_LOW_VOL_PCT: env.number(19.5).describe('Oxygen below this (% by volume) is a hard-rule alarm.'),
    INGEST_O2_NEVER_ABOVE_VOL_PCT: env.number(23.5).describe('Oxygen above this (% by volume) is a hard-rule alarm where no confined-space permit is live.'),
    INGEST_O2_CONFINED_MAX_VOL_PCT: env
      .number(21)
      .describe(
        "Oxygen above this (% by volume) is a grade I alarm where a confined-space permit is live: the permit's gas-test maximum (built-in template 21 %).",
      ),
    INGEST_H2S_LIMIT_PPM: env.number(7).describe('H2S limit in ppm (GBZ 2.1 MAC 10 mg/m3 converted; unverified, set per site).'),
    INGEST_CO_LIMIT_PPM: env.number(26).describe('CO limit in ppm (GBZ 2.1 PC-STEL 30 mg/m3 converted; unverified, set per site).'),
    INGEST_HTTP_HOST: z.string().default('127.0.0.1').describe('Listen address of /healthz and /metrics.'),
    INGEST_HTTP_PORT: env.port(9465).describe('Listen port of /healthz and /metrics (0: any free port).'),
    LOG_LEVEL: env.logLevel().describe('pino log level: fatal, error, warn, info, debug, trace or silent.'),
    INGEST_RETRY_MIN_MS: env.durationMs(200).describe('First delay before retrying the ledger.'),
    INGEST_RETRY_MAX_MS: env.durationMs(15_000).describe('Longest delay between ledger retries.'),
    INGEST_LEDGER_CONCURRENCY: env
      .positiveInt(8)
      .describe('Most alarms submitted to the ledger at once; alarms of one site and area always go one at a time, in the order raised.'),
    INGEST_FABRIC_CONNECTION_PROFILE: optionalText.describe(
      'Connection profile written by scripts/network.sh up ' +
        "($LEDGER_RUN_DIR/connection-profile.json): the gateway peer's endpoint, TLS name and TLS " +
        'CA, the MSP id, channel and chaincode of INGEST_FABRIC_ORG. Any INGEST_FABRIC_* variable ' +
        'below overrides its value. Unset with INGEST_FABRIC_PEER_ENDPOINT unset: no ledger; ' +
        'alarms wait in the outbox.',
    ),
    INGEST_FABRIC_ORG: z
      .enum(['enterprise', 'regulator'])
      .default('enterprise')
      .describe('Organization of the connection profile whose peer and MSP the service uses (devices belong to the enterprise).'),
    INGEST_FABRIC_IDENTITY_DIR: optionalText.describe(
      'Folder of the device-gateway identity as scripts/enroll-user.sh prints it ' +
        '(msp/signcerts/cert.pem and one msp/keystore/*_sk), e.g. after `enroll-user.sh enterprise ' +
        'ingest-gw device_gateway`. Alternative to INGEST_FABRIC_CERT and INGEST_FABRIC_KEY.',
    ),
    INGEST_FABRIC_PEER_ENDPOINT: optionalText.describe('Gateway peer host:port (overrides the connection profile).'),
    INGEST_FABRIC_PEER_HOST_ALIAS: optionalText.describe("TLS name of the peer when it differs from the endpoint's host."),
    INGEST_FABRIC_TLS_CA_CERT: optionalText.describe("PEM of the peer's TLS CA."),
    INGEST_FABRIC_MSP_ID: optionalText.describe(`MSP of the submitting identity (default: the profile's, else ${ENTERPRISE_MSP}).`),
    INGEST_FABRIC_CERT: optionalText.describe('PEM certificate of the device-gateway identity (Fabric CA attribute ledger.role=device_gateway).'),
    INGEST_FABRIC_KEY: optionalText.describe('PEM private key of that identity.'),
    INGEST_FABRIC_CHANNEL: optionalText.describe(`Channel name (default: the profile's, else ${CHANNEL_NAME}).`),
    INGEST_FABRIC_CHAINCODE: optionalText.describe(`Chaincode name (default: the profile's, else ${CHAINCODE_NAME}).`),
    INGEST_FABRIC_TIMEOUT_MS: env.durationMs(15_000).describe('Deadline of each gateway call (endorse, submit, commit status).'),
    INGEST_FABRIC_COMMIT_STREAM_FALLBACK_MS: env
      .durationMs(5_000)
      .describe(
        "How long an alarm's transaction is waited for on the block stream before its peer is asked (CommitStatus) after all, " +
          'as it is at once while the stream is down; at most INGEST_FABRIC_TIMEOUT_MS, which then counts again from the call.',
      ),
  })
  .superRefine((e, ctx) => {
    if (e.INGEST_FABRIC_PEER_ENDPOINT && !e.INGEST_FABRIC_CONNECTION_PROFILE && !e.INGEST_FABRIC_TLS_CA_CERT) {
      ctx.addIssue({
        code: 'custom',
        path: ['INGEST_FABRIC_TLS_CA_CERT'],
        message: 'required when INGEST_FABRIC_PEER_ENDPOINT is set without a connection profile',
      });
    }
    if (e.INGEST_FABRIC_PEER_ENDPOINT || e.INGEST_FABRIC_CONNECTION_PROFILE) {
      if (e.INGEST_FABRIC_IDENTITY_DIR && (e.INGEST_FABRIC_CERT || e.INGEST_FABRIC_KEY)) {
        ctx.addIssue({
          code: 'custom',
          path: ['INGEST_FABRIC_IDENTITY_DIR'],
          message: 'set either INGEST_FABRIC_IDENTITY_DIR or INGEST_FABRIC_CERT and INGEST_FABRIC_KEY, not both',
        });
      } else if (!e.INGEST_FABRIC_IDENTITY_DIR) {
        for (const k of ['INGEST_FABRIC_CERT', 'INGEST_FABRIC_KEY'] as const) {
          if (!e[k]) ctx.addIssue({ code: 'custom', path: [k], message: 'required for the ledger (or set INGEST_FABRIC_IDENTITY_DIR)' });
        }
      }
    }
    if (e.INGEST_O2_LOW_VOL_PCT >= e.INGEST_O2_NEVER_ABOVE_VOL_PCT) {
      ctx.addIssue({ code: 'custom', path: ['INGEST_O2_LOW_VOL_PCT'], message: 'must be below INGEST_O2_NEVER_ABOVE_VOL_PCT' });
    }
    if (e.INGEST_O2_CONFINED_MAX_VOL_PCT <= e.INGEST_O2_LOW_VOL_PCT || e.INGEST_O2_CONFINED_MAX_VOL_PCT > e.INGEST_O2_NEVER_ABOVE_VOL_PCT) {
      ctx.addIssue({
        code: 'custom',
        path: ['INGEST_O2_CONFINED_MAX_VOL_PCT'],
        message: 'must be above INGEST_O2_LOW_VOL_PCT and at most INGEST_O2_NEVER_ABOVE_VOL_PCT',
      });
    }
  });

export interface IngestConfig {
  mqtt: {
    url: string | undefined;
    clientId: string;
    username: string | undefined;
    password: string | undefined;
    maxBatch: number;
    embeddedHost: string;
    embeddedPort: number;
    topicRoot: string;
  };
  dataDir: string;
  /** Where verified camera clips go: kubo when apiUrl is set, else the embedded blockstore in dir. */
  clips: { apiUrl: string | undefined; dir: string };
  deviceRegistryFile: string;
  serviceKeyFile: string;
  requireSignedMessages: boolean;
  deviceKeyTables: number;
  maxFutureSkewMs: number;
  model: { manifestPath: string; batch: number; maxDelayMs: number; threads: number };
  dedupWindowMs: number;
  area: { readingTtlMs: number; detectionTtlMs: number; defaultGasLelVolPct: number };
  siteUtcOffsetMinutes: number;
  rules: Omit<GradingRules, 'gradeThresholds'>;
  http: { host: string; port: number };
  logLevel: string;
  retry: { initialBackoffMs: number; maxBackoffMs: number };
  ledgerConcurrency: number;
  fabric: FabricLedgerConfig | undefined;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export { ConfigError };

export function loadConfig(environment: Readonly<Record<string, string | undefined>>): IngestConfig {
  for (const gone of ['INGEST_KEY_FILE', 'INGEST_GATEWAY_DEVICE_ID']) {
    if (environment[gone] !== undefined) {
      throw new ConfigError(
        `ingest: ${gone} is no longer read: ingest holds no device keys. Give it the devices' public ` +
          `addresses (INGEST_DEVICE_REGISTRY_FILE) and its own service key (INGEST_SERVICE_KEY_FILE); devices ` +
          `sign their own messages.`,
      );
    }
  }
  const e = parseEnvironment('ingest', environmentSchema, environment);
  return deepFreeze({
    mqtt: {
      url: e.INGEST_MQTT_URL,
      clientId: e.INGEST_MQTT_CLIENT_ID,
      username: e.INGEST_MQTT_USERNAME,
      password: e.INGEST_MQTT_PASSWORD,
      maxBatch: e.INGEST_MQTT_MAX_BATCH,
      embeddedHost: e.INGEST_EMBEDDED_MQTT_HOST,
      embeddedPort: e.INGEST_EMBEDDED_MQTT_PORT,
      topicRoot: e.INGEST_TOPIC_ROOT,
    },
    dataDir: e.INGEST_DATA_DIR,
    clips: { apiUrl: e.INGEST_IPFS_API_URL, dir: e.INGEST_CLIP_DIR ?? join(e.INGEST_DATA_DIR, 'clips') },
    deviceRegistryFile: e.INGEST_DEVICE_REGISTRY_FILE,
    serviceKeyFile: e.INGEST_SERVICE_KEY_FILE,
    requireSignedMessages: e.INGEST_REQUIRE_SIGNED_MESSAGES,
    deviceKeyTables: e.INGEST_DEVICE_KEY_TABLES,
    maxFutureSkewMs: e.INGEST_MAX_FUTURE_SKEW_MS,
    model: {
      manifestPath: e.INGEST_MODEL_MANIFEST,
      batch: e.INGEST_INFERENCE_BATCH,
      maxDelayMs: e.INGEST_INFERENCE_MAX_DELAY_MS,
      threads: e.INGEST_INFERENCE_THREADS,
    },
    dedupWindowMs: e.INGEST_DEDUP_WINDOW_MS,
    area: {
      readingTtlMs: e.INGEST_READING_TTL_MS,
      detectionTtlMs: e.INGEST_DETECTION_TTL_MS,
      defaultGasLelVolPct: e.INGEST_DEFAULT_GAS_LEL_VOL_PCT,
    },
    siteUtcOffsetMinutes: e.INGEST_SITE_UTC_OFFSET_MINUTES,
    rules: {
      o2LowVolPct: e.INGEST_O2_LOW_VOL_PCT,
      o2NeverAboveVolPct: e.INGEST_O2_NEVER_ABOVE_VOL_PCT,
      o2ConfinedMaxVolPct: e.INGEST_O2_CONFINED_MAX_VOL_PCT,
      h2sLimitPpm: e.INGEST_H2S_LIMIT_PPM,
      coLimitPpm: e.INGEST_CO_LIMIT_PPM,
    },
    http: { host: e.INGEST_HTTP_HOST, port: e.INGEST_HTTP_PORT },
    logLevel: e.LOG_LEVEL,
    retry: { initialBackoffMs: e.INGEST_RETRY_MIN_MS, maxBackoffMs: e.INGEST_RETRY_MAX_MS },
    ledgerConcurrency: e.INGEST_LEDGER_CONCURRENCY,
    fabric: fabricConfig(e),
  });
}

type Environment = z.infer<typeof environmentSchema>;

function readProfile(path: string): ConnectionProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`invalid ingest configuration: INGEST_FABRIC_CONNECTION_PROFILE: cannot read ${path}: ${(err as Error).message}`);
  }
  const parsed = connectionProfileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid ingest configuration: INGEST_FABRIC_CONNECTION_PROFILE: ${path} is not a connection profile: ${formatZodIssues(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** cert.pem and the one *_sk key of an enroll-user.sh folder. */
function identityFiles(dir: string): { certPath: string; keyPath: string } {
  const certPath = join(dir, 'msp', 'signcerts', 'cert.pem');
  const keystore = join(dir, 'msp', 'keystore');
  let keys: string[] = [];
  try {
    keys = readdirSync(keystore).filter((f) => f.endsWith('_sk'));
  } catch {
    // reported below
  }
  if (!existsSync(certPath) || keys.length !== 1) {
    throw new ConfigError(
      `invalid ingest configuration: INGEST_FABRIC_IDENTITY_DIR: ${dir} must hold msp/signcerts/cert.pem ` +
        `and exactly one msp/keystore/*_sk (found ${keys.length})`,
    );
  }
  return { certPath, keyPath: join(keystore, keys[0]!) };
}

function fabricConfig(e: Environment): FabricLedgerConfig | undefined {
  if (!e.INGEST_FABRIC_PEER_ENDPOINT && !e.INGEST_FABRIC_CONNECTION_PROFILE) return undefined;
  const profile = e.INGEST_FABRIC_CONNECTION_PROFILE ? readProfile(e.INGEST_FABRIC_CONNECTION_PROFILE) : undefined;
  const org = profile?.organizations[e.INGEST_FABRIC_ORG];
  const identity = e.INGEST_FABRIC_IDENTITY_DIR
    ? identityFiles(e.INGEST_FABRIC_IDENTITY_DIR)
    : { certPath: e.INGEST_FABRIC_CERT!, keyPath: e.INGEST_FABRIC_KEY! };
  return {
    peerEndpoint: e.INGEST_FABRIC_PEER_ENDPOINT ?? org!.peer.endpoint,
    peerHostAlias: e.INGEST_FABRIC_PEER_HOST_ALIAS ?? org?.peer.hostAlias,
    tlsCaCertPath: e.INGEST_FABRIC_TLS_CA_CERT ?? org!.peer.tlsCaFile,
    mspId: e.INGEST_FABRIC_MSP_ID ?? org?.mspId ?? ENTERPRISE_MSP,
    ...identity,
    channel: e.INGEST_FABRIC_CHANNEL ?? profile?.channel ?? CHANNEL_NAME,
    chaincode: e.INGEST_FABRIC_CHAINCODE ?? profile?.chaincode ?? CHAINCODE_NAME,
    timeoutMs: e.INGEST_FABRIC_TIMEOUT_MS,
    commitStreamFallbackMs: e.INGEST_FABRIC_COMMIT_STREAM_FALLBACK_MS,
  };
}

/** What `ingest --help` prints: every variable, its default and what it does. */
export function configHelp(): string {
  return environmentHelp('ingest', environmentSchema, 'MQTT readings and detections → graded, device-signed alarms → ledger.');
}
