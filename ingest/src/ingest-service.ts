import { mkdirSync } from 'node:fs';
import { type ContentStore, createContentStore } from '@compliance-ledger/content-store';
import { SignerKeys } from '@compliance-ledger/gate-verifier/secp256k1';
import { startServiceHttpServer } from '@compliance-ledger/schema';
import type { IngestConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { IngestMetrics } from './metrics.js';
import { InferenceBatcher } from './model/inference-batcher.js';
import { loadModelFile } from './model/model-manifest.js';
import { RiskModel } from './model/risk-model.js';
import { startEmbeddedBroker } from './mqtt/embedded-broker.js';
import { MqttConsumer } from './mqtt/mqtt-consumer.js';
import { subscriptionFilter } from './mqtt/topics.js';
import type { AlarmLedger } from './outbox/alarm-ledger.js';
import { DeadLetterStore } from './outbox/dead-letter.js';
import { FabricAlarmLedger } from './outbox/fabric-ledger.js';
import { Outbox } from './outbox/outbox.js';
import { OutboxDelivery } from './outbox/outbox-delivery.js';
import { AlarmDeduper } from './pipeline/alarm-dedup.js';
import { AreaStateStore } from './pipeline/area-state.js';
import { DeviceRegistry, loadServiceKey } from './pipeline/device-keys.js';
import { IngestPipeline, type PipelineDeps } from './pipeline/ingest-pipeline.js';

export interface IngestOverrides {
  /** Replaces the ledger built from configuration (none when Fabric is not configured). */
  ledger?: AlarmLedger;
  log?: Logger;
  onAccepted?: PipelineDeps['onAccepted'];
}

export interface IngestService {
  brokerUrl: string;
  httpPort: number;
  outbox: Outbox;
  deadLetters: DeadLetterStore;
  metrics: IngestMetrics;
  /** Where the verified clips of cameras' detections are stored. */
  clips: ContentStore;
  pipeline: IngestPipeline;
  consumer: MqttConsumer;
  stop(): Promise<void>;
}

/** Builds every part from the configuration and starts consuming. */
export async function startIngest(config: IngestConfig, overrides: IngestOverrides = {}): Promise<IngestService> {
  const log = overrides.log ?? createLogger(config.logLevel);
  mkdirSync(config.dataDir, { recursive: true });
  const metrics = new IngestMetrics({ defaultMetrics: true });
  const registry = DeviceRegistry.load(config.deviceRegistryFile);
  const service = loadServiceKey(config.serviceKeyFile);
  const modelFile = loadModelFile(config.model.manifestPath);
  const model = await RiskModel.load(modelFile, { threads: config.model.threads });
  const batcher = new InferenceBatcher(model, config.model.batch, config.model.maxDelayMs, (rows) => metrics.inferenceBatch.observe(rows));
  const outbox = await Outbox.open(config.dataDir);
  const deadLetters = await DeadLetterStore.open(config.dataDir);
  const clips = createContentStore(config.clips);
  metrics.outboxDepth.set(outbox.depth);
  log.info(
    {
      serviceId: service.serviceId,
      serviceAddress: service.wallet.address,
      requireSignedMessages: config.requireSignedMessages,
      model: modelFile.manifest.version,
      sha256: modelFile.manifest.sha256,
      pending: outbox.depth,
    },
    'ingest starting',
  );

  const ledger = overrides.ledger ?? (config.fabric ? FabricAlarmLedger.connect(config.fabric) : undefined);
  let delivery: OutboxDelivery | undefined;
  // For /healthz: whether the last ledger call went through, and the last error while it does not.
  const ledgerHealth: { delivery: 'ok' | 'retrying'; lastError: string | undefined; lastSettledAt: string | undefined } = {
    delivery: 'ok',
    lastError: undefined,
    lastSettledAt: undefined,
  };
  if (ledger) {
    delivery = new OutboxDelivery(
      outbox,
      ledger,
      { ...config.retry, concurrency: config.ledgerConcurrency },
      {
        settled(entry, outcome) {
          ledgerHealth.delivery = 'ok';
          ledgerHealth.lastError = undefined;
          ledgerHealth.lastSettledAt = new Date().toISOString();
          metrics.ledgerOutcomes.inc({ status: outcome.status });
          metrics.outboxDepth.set(outbox.depth);
          if (outcome.status === 'rejected') {
            log.error({ alarmId: entry.alarm.fields.alarmId, reason: outcome.reason }, 'ledger rejected alarm; kept in the outbox log');
          } else {
            metrics.endToEnd.observe(Math.max(0, Date.now() - entry.alarm.fields.observedAt) / 1000);
          }
        },
        retrying(entry, error, delayMs) {
          ledgerHealth.delivery = 'retrying';
          ledgerHealth.lastError = String(error).slice(0, 500);
          metrics.ledgerRetries.inc();
          log.warn({ alarmId: entry.alarm.fields.alarmId, err: String(error), delayMs }, 'ledger unavailable; will retry');
        },
      },
    );
    delivery.start();
    if (config.fabric && !overrides.ledger) {
      const f = config.fabric;
      log.info({ peer: f.peerEndpoint, mspId: f.mspId, channel: f.channel, chaincode: f.chaincode, cert: f.certPath }, 'ledger: Fabric gateway');
    }
  } else {
    log.warn('no ledger configured (INGEST_FABRIC_PEER_ENDPOINT unset): alarms accumulate in the outbox');
  }

  const broker = config.mqtt.url ? undefined : await startEmbeddedBroker(config.mqtt.embeddedHost, config.mqtt.embeddedPort);
  const brokerUrl = config.mqtt.url ?? broker!.url;

  const pipeline = new IngestPipeline({
    decode: {
      topicRoot: config.mqtt.topicRoot,
      deviceAddresses: registry.addresses(),
      deviceKeys: new SignerKeys(config.deviceKeyTables),
      requireSignature: config.requireSignedMessages,
      maxFutureSkewMs: config.maxFutureSkewMs,
    },
    deadLetters,
    areas: new AreaStateStore(config.area),
    batcher,
    manifest: modelFile.manifest,
    rules: { ...config.rules, gradeThresholds: modelFile.manifest.gradeThresholds },
    deduper: new AlarmDeduper(config.dedupWindowMs),
    service,
    outbox,
    clips,
    siteUtcOffsetMinutes: config.siteUtcOffsetMinutes,
    metrics,
    log,
    ...(overrides.onAccepted ? { onAccepted: overrides.onAccepted } : {}),
  });

  const consumer = new MqttConsumer({
    url: brokerUrl,
    clientId: config.mqtt.clientId,
    username: config.mqtt.username,
    password: config.mqtt.password,
    filter: subscriptionFilter(config.mqtt.topicRoot),
    handle: (deliveries) => pipeline.handleAll(deliveries),
    maxBatch: config.mqtt.maxBatch,
    log,
  });

  const http = await startServiceHttpServer({
    host: config.http.host,
    port: config.http.port,
    registry: metrics.registry,
    health: () => ({
      ok: consumer.connected,
      mqtt: consumer.connected ? 'connected' : 'disconnected',
      outboxDepth: outbox.depth,
      ledger: ledger ? 'configured' : 'none',
      // Alarms keep being accepted into the durable outbox while the ledger is away, so a retrying
      // ledger does not make the service unhealthy; it is reported here for operators.
      ...(ledger ? { ledgerDelivery: ledgerHealth.delivery, ledgerLastError: ledgerHealth.lastError, ledgerLastSettledAt: ledgerHealth.lastSettledAt } : {}),
      model: `${modelFile.manifest.name}@${modelFile.manifest.version}`,
    }),
  });
  await consumer.ready();
  log.info({ brokerUrl, httpPort: http.port }, 'ingest ready');

  return {
    brokerUrl,
    httpPort: http.port,
    outbox,
    deadLetters,
    metrics,
    clips,
    pipeline,
    consumer,
    async stop() {
      await consumer.close();
      await delivery?.stop();
      await http.close();
      await ledger?.close?.();
      await outbox.close();
      await deadLetters.close();
      await clips.close();
      await model.release();
      await broker?.close();
    },
  };
}
