/** Entry point: validate the configuration once, start the gateway, stop cleanly on SIGINT/SIGTERM. */
import { config, configHelp, type GatewayConfig } from './config.js';
import { createLogger } from './logger.js';
import { startGateway } from './server.js';

if (process.argv.includes('--help')) {
  process.stdout.write(`${configHelp()}\n`);
  process.exit(0);
}
let cfg: GatewayConfig;
try {
  cfg = config();
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
const logger = createLogger(cfg.LOG_LEVEL);
const gw = await startGateway(cfg, logger).catch((e: Error) => {
  logger.fatal({ err: e }, 'gateway failed to start');
  process.exit(1);
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    logger.info({ signal: sig }, 'stopping');
    void gw.close().then(() => process.exit(0));
  });
}
