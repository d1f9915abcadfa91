import { join } from 'node:path';
import { ConfigError, startServiceHttpServer } from '@compliance-ledger/schema';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { helpText, loadConfig, type ReporterConfig } from './config.js';
import { FabricSweeperLedger } from './ledger.js';
import { createLogger } from './logger.js';
import { handlePushApi, type PushApiDeps } from './push/api.js';
import { Outbox } from './push/outbox.js';
import { Pusher } from './push/pusher.js';
import { loadOrCreateSigner } from './push/signing.js';
import { Sweeper } from './sweeper.js';

export interface RunningReporter {
  port: number;
  sweeper: Sweeper;
  pusher: Pusher | null;
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
  let pusher: Pusher | null = null;
  let outbox: Outbox | null = null;
  let pushApi: PushApiDeps | null = null;
  if (config.push) {
    const deliveries = new Counter({
      name: 'reporter_push_deliveries_total',
      help: 'Delivery attempts by result (delivered, retry, dead).',
      labelNames: ['result'],
      registers: [registry],
    });
    outbox = new Outbox(join(config.push.dir, 'outbox.jsonl'));
    const ob = outbox;
    new Gauge({
      name: 'reporter_push_pending',
      help: 'Deliveries queued in the outbox and not yet accepted.',
      registers: [registry],
      collect() {
        this.set(ob.pending.size);
      },
    });
    const signer = loadOrCreateSigner(config.push.signingKeyFile);
    const p = new Pusher(ledger.network(), outbox, signer, { chaincode: config.fabric.chaincode, reconnectMs: 2_000, ...config.push }, log, (result) =>
      deliveries.inc({ result }),
    );
    pusher = p;
    pushApi = {
      outbox,
      signer,
      token: config.push.apiToken,
      currentBlock: () => ob.checkpoint?.block ?? config.push!.startBlock.toString(),
      replayRequested: () => p.restartFollower(),
    };
    pusher.start();
  }
  // Healthy once a sweep read the ledger within three periods: a stuck sweeper is visible.
  const http = await startServiceHttpServer({
    host: config.http.host,
    port: config.http.port,
    registry,
    health: () => {
      const last = sweeper.lastSweepAt === null ? null : Date.parse(sweeper.lastSweepAt);
      return {
        ok: last !== null && Date.now() - last < 3 * config.sweep.periodMs + config.fabric.timeoutMs,
        lastSweepAt: sweeper.lastSweepAt,
        lastError: sweeper.lastError,
        push:
          pusher && outbox
            ? { followerConnected: pusher.followerConnected, checkpoint: outbox.checkpoint, pending: outbox.pending.size, deadLetters: outbox.dead.size }
            : null,
      };
    },
    extra: async (req, res) => (pushApi ? handlePushApi(req, res, pushApi) : false),
  });
  log.info({ port: http.port, periodMs: config.sweep.periodMs, mspId: config.fabric.mspId }, 'reporter started');
  return {
    port: http.port,
    sweeper,
    pusher,
    async stop() {
      await sweeper.stop();
      await pusher?.stop();
      outbox?.close();
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
