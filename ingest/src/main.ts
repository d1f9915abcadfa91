import { ConfigError, configHelp, loadConfig } from './config.js';
import { startIngest } from './ingest-service.js';
import { createLogger } from './logger.js';

/** Entry point: read the environment once, wire the service, stop cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${configHelp()}\n`);
    return;
  }
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel);
  const service = await startIngest(config, { log });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
