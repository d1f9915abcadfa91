/** Prometheus metrics (prom-client), served at /metrics. */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

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
  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gateway_' });
  }
}
