import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The service's Prometheus metrics, on a registry of its own (tests create several services). */
export class IngestMetrics {
  readonly registry = new Registry();
  readonly messagesIn = new Counter({
    name: 'ingest_messages_total',
    help: 'MQTT messages received, by kind (env, ai, permits, invalid)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly invalid = new Counter({
    name: 'ingest_invalid_messages_total',
    help: 'Messages sent to the dead-letter store, by reason code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly alarms = new Counter({
    name: 'ingest_alarms_total',
    help: 'Alarms raised and queued for the ledger, by grade (1 = grade I, most severe)',
    labelNames: ['grade'] as const,
    registers: [this.registry],
  });
  readonly ledgerOutcomes = new Counter({
    name: 'ingest_ledger_outcomes_total',
    help: 'Alarms settled with the ledger, by outcome (committed, duplicate, rejected)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly ledgerRetries = new Counter({
    name: 'ingest_ledger_retries_total',
    help: 'Ledger submissions that failed and will be retried',
    registers: [this.registry],
  });
  readonly outboxDepth = new Gauge({
    name: 'ingest_outbox_depth',
    help: 'Alarms waiting in the outbox for the ledger',
    registers: [this.registry],
  });
  readonly endToEnd = new Histogram({
    name: 'ingest_end_to_end_latency_seconds',
    help: 'From the observation at the source to the ledger accepting the alarm',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly inferenceBatch = new Histogram({
    name: 'ingest_inference_batch_rows',
    help: 'Rows per ONNX inference call',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
