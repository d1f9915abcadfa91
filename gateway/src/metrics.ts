/** Prometheus metrics (prom-client), served at /metrics. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'gateway_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly ledgerTx = new Counter({
    name: 'gateway_ledger_transactions_total',
    help: 'Transactions committed through the gateway',
    labelNames: ['tx'],
    registers: [this.registry],
  });
  readonly ledgerRefusals = new Counter({
    name: 'gateway_ledger_refusals_total',
    help: 'Transactions refused by the chaincode, by code',
    labelNames: ['tx', 'code'],
    registers: [this.registry],
  });
  readonly ledgerEndorseRetries = new Counter({
    name: 'gateway_ledger_endorse_retries_total',
    help: "Endorsements tried again after a failure a retry may change, by transaction and the failure's class (fabric-client)",
    labelNames: ['tx', 'reason'],
    registers: [this.registry],
  });
  readonly ledgerAdmissionRefusals = new Counter({
    name: 'gateway_ledger_admission_refusals_total',
    help: "Ledger calls answered 503 for want of a place at the org's peer: the queue was full, or the call waited GATEWAY_LEDGER_QUEUE_WAIT_MS",
    labelNames: ['org', 'reason'],
    registers: [this.registry],
  });
  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gateway_' });
  }

  /** Ledger calls at each org's peer now, and calls waiting for a place (GATEWAY_LEDGER_MAX_IN_FLIGHT). */
  observeLedgerAdmission(orgs: readonly string[], of: (org: string) => { inFlight: number; queued: number }): void {
    const gauges = [
      ['gateway_ledger_calls_in_flight', "Ledger calls at the org's peer now", 'inFlight'],
      ['gateway_ledger_calls_queued', "Ledger calls waiting for a place at the org's peer", 'queued'],
    ] as const;
    for (const [name, help, field] of gauges) {
      new Gauge({
        name,
        help,
        labelNames: ['org'],
        registers: [this.registry],
        collect() {
          for (const org of orgs) this.set({ org }, of(org)[field]);
        },
      });
    }
  }

  /** Where writes' commit statuses came from: the org's block stream, or the peer asked after the stream did not bring one in time. */
  observeCommitStatuses(counts: () => { stream: number; peer: number }): void {
    new Counter({
      name: 'gateway_commit_statuses_total',
      help: "Commit statuses of writes by source: the org's block stream, or the peer asked after waiting on it (GATEWAY_COMMIT_STREAM_FALLBACK_MS)",
      labelNames: ['source'],
      registers: [this.registry],
      collect(this: Counter<'source'>) {
        const c = counts();
        this.reset();
        this.inc({ source: 'block_stream' }, c.stream);
        this.inc({ source: 'peer_after_wait' }, c.peer);
      },
    });
  }

  /** The idempotency store's grouped statements (statement-batch.ts): items per statement is the grouping achieved. */
  observeIdempotencyBatches(stats: () => Record<string, { statements: number; items: number }>): void {
    // Counted by the store; each scrape copies its totals.
    const read = (field: 'statements' | 'items') =>
      function (this: Counter<'kind'>) {
        this.reset();
        for (const [kind, s] of Object.entries(stats())) this.inc({ kind }, s[field]);
      };
    new Counter({
      name: 'gateway_idempotency_statements_total',
      help: 'Statements the idempotency store ran for its grouped operations, by operation',
      labelNames: ['kind'],
      registers: [this.registry],
      collect: read('statements'),
    });
    new Counter({
      name: 'gateway_idempotency_statement_items_total',
      help: 'Requests those statements carried since start, by operation',
      labelNames: ['kind'],
      registers: [this.registry],
      collect: read('items'),
    });
  }
}
