/**
 * Wires the gateway from a configuration: connection profile, wallet, ledger client, PostgreSQL
 * pool, idempotency store, content store, OCR, and the HTTP server. Tests start it in-process with
 * their own configuration and talk to it over real HTTP.
 */

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { loadCredentialOfficeKey } from '@compliance-ledger/gate-verifier';
import { connectionProfileSchema } from '@compliance-ledger/schema';
import pg from 'pg';
import { AlarmFeed } from './alarm-feed.js';
import { createApp } from './app.js';
import { ORGS, type Org } from './auth.js';
import type { GatewayConfig } from './config.js';
import { removeStaleSpools } from './evidence-spool.js';
import { createHttpServer } from './http-server.js';
import { IdempotencyStore, PENDING_LEASE_MS } from './idempotency.js';
import { createContentStore } from './ipfs.js';
import { LedgerClient } from './ledger.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { MirrorListener } from './mirror-listener.js';
import { languageDir, OcrService } from './ocr.js';
import { RegulatorRepository } from './regulator-repository.js';
import type { Services } from './services.js';
import { Wallet } from './wallet.js';
import { WorkerCodeIssuer } from './worker-codes.js';

export interface RunningGateway {
  url: string;
  server: Server;
  services: Services;
  /** The custodial wallet of the served org(s). */
  wallet: Wallet;
  openapi: Record<string, unknown>;
  /** The idempotency store, when a database is configured (settled(): every result stored). */
  idempotency: IdempotencyStore | undefined;
  close(): Promise<void>;
}

function findCaClient(cfg: GatewayConfig): string {
  if (cfg.FABRIC_CA_CLIENT) return cfg.FABRIC_CA_CLIENT;
  try {
    return execFileSync('sh', ['-c', 'command -v fabric-ca-client'], { encoding: 'utf8' }).trim() || fallback();
  } catch {
    return fallback();
  }
  function fallback(): string {
    const home = process.env.FABRIC_HOME ?? path.join(process.env.HOME ?? '', '.cache', 'compliance-ledger', 'fabric');
    return path.join(home, 'bin', 'fabric-ca-client');
  }
}

export async function startGateway(cfg: GatewayConfig, logger: Logger = createLogger(cfg.LOG_LEVEL)): Promise<RunningGateway> {
  if (!fs.existsSync(cfg.LEDGER_CONNECTION_PROFILE))
    throw new Error(`no connection profile at ${cfg.LEDGER_CONNECTION_PROFILE} (LEDGER_CONNECTION_PROFILE); start the network first`);
  const profile = connectionProfileSchema.parse(JSON.parse(fs.readFileSync(cfg.LEDGER_CONNECTION_PROFILE, 'utf8')));
  const metrics = new Metrics();
  const ledger = new LedgerClient({
    profile,
    evaluateTimeoutMs: cfg.GATEWAY_EVALUATE_TIMEOUT_MS,
    endorseTimeoutMs: cfg.GATEWAY_ENDORSE_TIMEOUT_MS,
    submitTimeoutMs: cfg.GATEWAY_SUBMIT_TIMEOUT_MS,
    commitTimeoutMs: cfg.GATEWAY_COMMIT_TIMEOUT_MS,
    retryAfterSeconds: cfg.GATEWAY_RETRY_AFTER_SECONDS,
    endorseRetry: { attempts: cfg.GATEWAY_ENDORSE_ATTEMPTS, baseDelayMs: cfg.GATEWAY_ENDORSE_RETRY_BASE_MS, maxDelayMs: cfg.GATEWAY_ENDORSE_RETRY_MAX_MS },
    // Never longer than the commit deadline itself, which then counts again from the call to the peer.
    ...(cfg.GATEWAY_COMMIT_STATUS_FROM_BLOCKS
      ? { commitStreamFallbackMs: Math.min(cfg.GATEWAY_COMMIT_STREAM_FALLBACK_MS, cfg.GATEWAY_COMMIT_TIMEOUT_MS) }
      : {}),
    onCommitStreamError: (org, e) => logger.warn({ org, err: e }, "the org's block stream for commit statuses failed; opening it again"),
    admission: { maxInFlight: cfg.GATEWAY_LEDGER_MAX_IN_FLIGHT, maxQueued: cfg.GATEWAY_LEDGER_MAX_QUEUED, maxWaitMs: cfg.GATEWAY_LEDGER_QUEUE_WAIT_MS },
    onAdmissionRefused: (org, reason) => metrics.ledgerAdmissionRefusals.inc({ org, reason }),
    onEndorseRetry: (tx, failure, retry) => {
      metrics.ledgerEndorseRetries.inc({ tx, reason: failure.name });
      logger.warn({ tx, transactionId: failure.transactionId, retry, err: failure.message }, 'endorsement failed in a way a retry may change; endorsing again');
    },
  });
  const wallet = new Wallet({
    dir: cfg.GATEWAY_WALLET_DIR,
    profile,
    caClient: findCaClient(cfg),
    registrarId: cfg.GATEWAY_CA_REGISTRAR_ID,
    registrarSecretFiles: Object.fromEntries(
      cfg.GATEWAY_ORGS.map((org) => [
        org,
        org === 'enterprise' ? cfg.GATEWAY_CA_ENTERPRISE_REGISTRAR_SECRET_FILE : cfg.GATEWAY_CA_REGULATOR_REGISTRAR_SECRET_FILE,
      ]),
    ),
    retryAfterSeconds: cfg.GATEWAY_RETRY_AFTER_SECONDS,
    logger,
  });
  // The mirror's pool and, when the idempotency records live elsewhere, theirs: the same limits each.
  const newPool = (connectionString: string) => {
    const p = new pg.Pool({ connectionString, max: cfg.DATABASE_POOL_MAX, idleTimeoutMillis: cfg.DATABASE_POOL_IDLE_MS, connectionTimeoutMillis: 5000 });
    p.on('error', (e) => logger.warn({ err: e }, 'idle PostgreSQL client failed'));
    return p;
  };
  const pool = cfg.DATABASE_URL ? newPool(cfg.DATABASE_URL) : undefined;
  const statePool = cfg.GATEWAY_STATE_DATABASE_URL && cfg.GATEWAY_STATE_DATABASE_URL !== cfg.DATABASE_URL ? newPool(cfg.GATEWAY_STATE_DATABASE_URL) : pool;
  const idempotency = statePool
    ? new IdempotencyStore(
        statePool,
        cfg.GATEWAY_IDEMPOTENCY_TTL_HOURS,
        cfg.GATEWAY_RETRY_AFTER_SECONDS,
        cfg.GATEWAY_IDEMPOTENCY_UNKNOWN_RELEASE_MS,
        cfg.GATEWAY_IDEMPOTENCY_REPLAY_WAIT_MS,
      )
    : undefined;
  await idempotency?.migrate();
  if (idempotency) metrics.observeIdempotencyBatches(() => idempotency.batchStats());
  metrics.observeCommitStatuses(() => ledger.commitStatusCounts());
  metrics.observeLedgerAdmission(ORGS, (org) => ledger.admissionOf(org as Org));
  fs.mkdirSync(cfg.GATEWAY_BLOCKSTORE_DIR, { recursive: true, mode: 0o700 });
  const content = createContentStore({ apiUrl: cfg.IPFS_API_URL, dir: cfg.GATEWAY_BLOCKSTORE_DIR });
  const ocr = cfg.GATEWAY_OCR_ENABLED ? new OcrService(languageDir(cfg.GATEWAY_OCR_LANG_DIR)) : undefined;
  const regulator = pool ? new RegulatorRepository(pool, cfg.GATEWAY_RETRY_AFTER_SECONDS) : undefined;
  const services: Services = {
    config: cfg,
    ledger,
    content,
    metrics,
    pool,
    regulator,
    ocr,
    workerCodes:
      cfg.GATEWAY_CREDENTIAL_OFFICE_KEY_FILE && cfg.GATEWAY_ORGS.includes('enterprise')
        ? new WorkerCodeIssuer(loadCredentialOfficeKey(cfg.GATEWAY_CREDENTIAL_OFFICE_KEY_FILE), ledger, cfg.GATEWAY_WORKER_CODE_TTL_MS)
        : undefined,
    alarmFeed: regulator
      ? new AlarmFeed(
          regulator,
          cfg.GATEWAY_ALARM_STREAM_POLL_MS,
          logger,
          cfg.GATEWAY_ALARM_STREAM_LISTEN && cfg.DATABASE_URL ? new MirrorListener(cfg.DATABASE_URL, logger) : undefined,
        )
      : undefined,
  };
  const { app, openapi, clientSigned } = createApp({ services, wallet, idempotency, logger });
  const server = await new Promise<Server>((resolve, reject) => {
    const srv = createHttpServer(app);
    srv.once('error', reject);
    srv.listen(cfg.GATEWAY_PORT, cfg.GATEWAY_HOST, () => {
      srv.off('error', reject);
      resolve(srv);
    });
  });
  const staleSpools = await removeStaleSpools(cfg.GATEWAY_ARCHIVE_SPOOL_DIR);
  if (staleSpools > 0) logger.warn({ dir: cfg.GATEWAY_ARCHIVE_SPOOL_DIR, removed: staleSpools }, 'removed archive spools a stopped gateway left');
  const purge = setInterval(() => void idempotency?.purgeExpired().catch(() => undefined), 3_600_000);
  purge.unref();
  // Keeps the keys of requests in flight leased; a crashed process's keys lapse within PENDING_LEASE_MS.
  const renew = setInterval(
    () => void idempotency?.renewHeld().catch((e: unknown) => logger.warn({ err: e }, 'idempotency lease renewal failed')),
    PENDING_LEASE_MS / 3,
  );
  renew.unref();
  const addr = server.address() as AddressInfo;
  const url = `http://${cfg.GATEWAY_HOST.includes(':') ? `[${cfg.GATEWAY_HOST}]` : cfg.GATEWAY_HOST}:${addr.port}`;
  logger.info({ url, contentStore: content.kind, ocr: Boolean(ocr), database: Boolean(pool) }, 'gateway listening');
  if (content.kind === 'embedded')
    logger.warn(
      { blockstore: cfg.GATEWAY_BLOCKSTORE_DIR },
      'evidence is kept in one local blockstore and is NOT replicated: no other org holds a copy. ' +
        'Set IPFS_API_URL to a kubo node and let the regulator pin the recorded CIDs (INDEXER_PIN_IPFS_API_URL) for two copies',
    );
  return {
    url,
    server,
    services,
    wallet,
    openapi,
    idempotency,
    async close() {
      clearInterval(purge);
      clearInterval(renew);
      services.alarmFeed?.close();
      clientSigned.close();
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      ledger.close();
      await ocr?.close();
      await content.close();
      await idempotency?.settled();
      await pool?.end();
      if (statePool && statePool !== pool) await statePool.end();
    },
  };
}
