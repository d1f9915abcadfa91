/** What route handlers depend on: small repositories that wrap all I/O. */
import type { Pool } from 'pg';
import type { AlarmFeed } from './alarm-feed.js';
import type { GatewayConfig } from './config.js';
import type { ContentStore } from './ipfs.js';
import type { LedgerClient } from './ledger.js';
import type { Metrics } from './metrics.js';
import type { OcrService } from './ocr.js';
import type { RegulatorRepository } from './regulator-repository.js';
import type { WorkerCodeIssuer } from './worker-codes.js';

export interface Services {
  config: GatewayConfig;
  ledger: LedgerClient;
  content: ContentStore;
  metrics: Metrics;
  /** Indexer's PostgreSQL (regulator and auditor reads); undefined when DATABASE_URL is unset. */
  pool: Pool | undefined;
  regulator: RegulatorRepository | undefined;
  ocr: OcrService | undefined;
  /** Worker codes; undefined when GATEWAY_CREDENTIAL_OFFICE_KEY_FILE is unset or the enterprise is not served. */
  workerCodes?: WorkerCodeIssuer | undefined;
  /** The live alarm stream's poller; undefined without DATABASE_URL. */
  alarmFeed: AlarmFeed | undefined;
}
