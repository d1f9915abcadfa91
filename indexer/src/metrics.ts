/**
 * Prometheus metrics (prom-client) and the state /healthz reports. The follower writes to it, the
 * HTTP server reads it; nothing else shares state.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class IndexerMetrics {
  readonly registry = new Registry();
  readonly lastBlock = new Gauge({
    name: 'indexer_last_block_indexed',
    help: 'Number of the last block committed to Postgres (-1: none)',
    registers: [this.registry],
  });
  readonly chainHeight = new Gauge({
    name: 'indexer_chain_height',
    help: 'Channel height reported by the peer (qscc GetChainInfo)',
    registers: [this.registry],
  });
  readonly lagBlocks = new Gauge({ name: 'indexer_lag_blocks', help: 'Blocks on the channel not yet indexed', registers: [this.registry] });
  readonly lagSeconds = new Gauge({
    name: 'indexer_lag_seconds',
    help: 'Age of the oldest block not yet indexed (0 when caught up)',
    registers: [this.registry],
  });
  readonly blocks = new Counter({ name: 'indexer_blocks_indexed_total', help: 'Blocks committed to Postgres', registers: [this.registry] });
  readonly transactions = new Counter({
    name: 'indexer_transactions_indexed_total',
    help: 'Transactions committed to Postgres',
    labelNames: ['valid'],
    registers: [this.registry],
  });
  readonly unprojected = new Counter({
    name: 'indexer_events_unprojected_total',
    help: 'Chaincode events with no domain projector',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly replacedText = new Counter({
    name: 'indexer_events_text_replaced_total',
    help: 'Events mirrored with U+FFFD in place of text PostgreSQL cannot store (U+0000, lone surrogates): ledgers from before the chaincode refused it',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly batchSeconds = new Histogram({
    name: 'indexer_batch_write_seconds',
    help: 'Duration of one Postgres transaction writing a batch of blocks',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly visibleDelay = new Histogram({
    name: 'indexer_tx_visible_delay_seconds',
    help: "From a transaction's timestamp (proposal time) to its row being committed in Postgres",
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly restarts = new Counter({
    name: 'indexer_restarts_total',
    help: 'Follower restarts after an error, by cause',
    labelNames: ['cause'],
    registers: [this.registry],
  });
  readonly up = new Gauge({ name: 'indexer_streaming', help: '1 while a block stream is open and Postgres answers', registers: [this.registry] });
  readonly peerReachable = new Gauge({
    name: 'indexer_peer_reachable',
    help: '1 while the followed peer answers (blocks or chain height), 0 after it failed',
    registers: [this.registry],
  });

  /** Snapshot for /healthz. */
  state = {
    lastBlock: -1,
    chainHeight: null as number | null,
    lagBlocks: null as number | null,
    lagSeconds: null as number | null,
    streaming: false,
    lastError: null as string | null,
    lastErrorAt: null as string | null,
    fatal: null as string | null,
    lastCommitAt: null as string | null,
    /** null until the peer first answers or fails. While false, chainHeight and lag are the last known values. */
    peerReachable: null as boolean | null,
    peerUnreachableSince: null as string | null,
  };

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'indexer_' });
    this.lastBlock.set(-1);
  }

  setLastBlock(n: number): void {
    this.state.lastBlock = n;
    this.lastBlock.set(n);
    this.state.lastCommitAt = new Date().toISOString();
    this.updateLag();
  }

  setChainHeight(height: number): void {
    if (this.state.chainHeight !== null && height < this.state.chainHeight) return;
    this.state.chainHeight = height;
    this.chainHeight.set(height);
    this.updateLag();
  }

  /** Caught up means no lag in seconds either, whatever a late measurement says. */
  setLagSeconds(seconds: number): void {
    const s = this.state.lagBlocks === 0 ? 0 : seconds;
    this.state.lagSeconds = s;
    this.lagSeconds.set(s);
  }

  private updateLag(): void {
    if (this.state.chainHeight === null) return;
    const lag = Math.max(0, this.state.chainHeight - 1 - this.state.lastBlock);
    this.state.lagBlocks = lag;
    this.lagBlocks.set(lag);
    if (lag === 0) this.setLagSeconds(0);
  }

  setStreaming(on: boolean): void {
    this.state.streaming = on;
    this.up.set(on ? 1 : 0);
  }

  setPeerReachable(on: boolean): void {
    // Keep the moment of the first failure: the outage's start, not its latest symptom.
    if (!on) this.state.peerUnreachableSince = this.state.peerReachable === false ? this.state.peerUnreachableSince : new Date().toISOString();
    else this.state.peerUnreachableSince = null;
    this.state.peerReachable = on;
    this.peerReachable.set(on ? 1 : 0);
  }

  recordError(cause: string, error: unknown): void {
    this.state.lastError = `${cause}: ${error instanceof Error ? error.message : String(error)}`;
    this.state.lastErrorAt = new Date().toISOString();
    this.restarts.inc({ cause });
  }
}
