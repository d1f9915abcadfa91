/** The app with services that do no I/O: enough to inspect routes and the OpenAPI document. */
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { Metrics } from '../../src/metrics.js';
import type { Services } from '../../src/services.js';
import type { Wallet } from '../../src/wallet.js';

export function offlineApp(logger: Logger = createLogger('silent')) {
  const config = parseConfig({ GATEWAY_JWT_HS256_SECRET: 'x'.repeat(40), GATEWAY_METRICS_TOKEN: 'm'.repeat(32), LEDGER_RUN_DIR: '/nonexistent' });
  const services = {
    config,
    ledger: {},
    content: { kind: 'embedded' },
    metrics: new Metrics(),
    pool: undefined,
    regulator: undefined,
    ocr: undefined,
    alarmFeed: undefined,
  } as unknown as Services;
  // Nobody is revoked: the offline app has no wallet directory.
  const wallet = { isRevoked: () => false } as unknown as Wallet;
  return createApp({ services, wallet, idempotency: undefined, logger });
}
