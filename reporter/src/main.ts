import { ConfigError } from '@compliance-ledger/schema';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { helpText, loadConfig, type ReporterConfig } from './config.js';
import { startHttpServer } from './http-server.js';
import { FabricSweeperLedger } from './ledger.js';
import { createLogger } from './logger.js';
import { Sweeper } from './sweeper.js';

export interface RunningReporter {
  port: number;
  sweeper: Sweeper;
  stop(): Promise<void>;
}

export async function startReporter(config: ReporterConfig): Promise<RunningReporter> {
  const log = createLogger(config.logLevel);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const actions = new Counter({
    name: 'reporter_sweep_actions_total',
    help: 'Sweeper actions by kind and result (committed, refused, conflict, failed).',
    labelNames: ['action', 'result'],
    registers: [registry],
  });
  const lastSweep = new Gauge({
    name: 'reporter_sweep_last_success_seconds',
    help: 'Unix time of the last sweep that read the due list.',
    registers: [registry],
  });
  const ledger = FabricSweeperLedger.connect(config.fabric);
  const sweeper = new Sweeper(ledger, config.sweep, log, (r) => {
    lastSweep.set(Date.parse(r.asOf) / 1000);
    for (const a of r.actions) actions.inc({ action: a.action, result: a.result });
  });
  sweeper.start();
  // Healthy once a sweep read the ledger within three periods: a stuck sweeper is visible.
  const http = await startHttpServer(config.http.host, config.http.port, registry, () => {
    const last = sweeper.lastSweepAt === null ? null : Date.parse(sweeper.lastSweepAt);
    return {
      ok: last !== null && Date.now() - last < 3 * config.sweep.periodMs + config.fabric.timeoutMs,
      lastSweepAt: sweeper.lastSweepAt,
      lastError: sweeper.lastError,
    };
  });
  log.info({ port: http.port, periodMs: config.sweep.periodMs, mspId: config.fabric.mspId }, 'reporter started');
  return {
    port: http.port,
    sweeper,
    async stop() {
      await sweeper.stop();
      await http.close();
      ledger.close();
    },
  };
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(helpText());
    return;
  }
  let config: ReporterConfig;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const running = await startReporter(config);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => void running.stop().then(() => process.exit(0)));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
