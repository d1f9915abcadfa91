import { setTimeout as sleep } from 'node:timers/promises';
import type { Network } from '@hyperledger/fabric-gateway';
import type { Logger } from 'pino';
import { bodyOf, deliveryIdOf, factOf, matches } from './events.js';
import type { Delivery, Outbox } from './outbox.js';
import type { PushSigner } from './signing.js';

export interface PushOptions {
  chaincode: string;
  /** Block the follower starts at when the outbox has no checkpoint yet. */
  startBlock: bigint;
  requestTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxAttempts: number;
  /** Most deliveries in flight at once, over all subscriptions and order keys. */
  concurrency: number;
  /** How long the follower waits before reopening a failed event stream. */
  reconnectMs: number;
}

/** Exponential backoff, capped: base, 2·base, 4·base, … up to max. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

/**
 * Follows the chaincode's events from the outbox's checkpoint, queues a delivery per matching
 * subscription (with the checkpoint, in one fsynced line), and sends the queue: one delivery in
 * flight per subscription and order key (a permit, an alarm), the lowest seq first, so a permit's
 * events arrive in ledger order; a failure is retried with backoff, after maxAttempts it becomes a
 * dead letter and the key's next delivery may go.
 */
export class Pusher {
  private stopped = false;
  private epoch = 0;
  private stream: { close(): void } | undefined;
  private following: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly busyKeys = new Set<string>();
  lastError: string | null = null;
  followerConnected = false;

  constructor(
    private readonly network: Network,
    private readonly outbox: Outbox,
    private readonly signer: PushSigner,
    private readonly options: PushOptions,
    private readonly log: Logger,
    private readonly onResult: (result: 'delivered' | 'retry' | 'dead') => void = () => undefined,
  ) {}

  start(): void {
    this.following = this.follow();
    this.schedule(0);
  }

  /** Restarts the follower at the outbox's (possibly moved) checkpoint, after a replay was recorded. */
  restartFollower(): void {
    this.epoch++;
    this.stream?.close();
  }

  private async follow(): Promise<void> {
    while (!this.stopped) {
      try {
        const cp = this.outbox.checkpoint;
        const events = await this.network.getChaincodeEvents(this.options.chaincode, {
          startBlock: this.options.startBlock,
          ...(cp
            ? {
                checkpoint: { getBlockNumber: () => BigInt(cp.block), getTransactionId: () => cp.txId ?? undefined },
              }
            : {}),
        });
        this.stream = events;
        this.followerConnected = true;
        const epoch = this.epoch;
        for await (const ev of events) {
          // A replay moved the checkpoint: events still buffered from the old stream must not move it back.
          if (epoch !== this.epoch) break;
          this.accept(ev.eventName, ev.payload, ev.blockNumber, ev.transactionId);
        }
      } catch (err) {
        if (this.stopped) return;
        this.lastError = String(err);
        this.log.warn({ err: String(err) }, 'event stream failed; resuming from the checkpoint');
      } finally {
        this.followerConnected = false;
        this.stream = undefined;
      }
      if (!this.stopped) await sleep(this.options.reconnectMs);
    }
  }

  private accept(eventName: string, payload: Uint8Array, block: bigint, txId: string): void {
    const fact = factOf(eventName, payload, block, txId);
    const fresh = this.outbox.isNew(block, txId);
    const deliveries: Delivery[] = [];
    if (fact) {
      for (const s of this.outbox.subscriptions.values()) {
        if (!fresh && !(this.outbox.replay && (this.outbox.replay.subscriptionIds === null || this.outbox.replay.subscriptionIds.includes(s.id)))) continue;
        if (!matches(s, fact)) continue;
        const generation = fresh ? 0 : this.outbox.replay!.generation;
        const id = deliveryIdOf(s.id, txId, generation);
        deliveries.push({
          id,
          seq: this.outbox.allocateSeq(),
          subscriptionId: s.id,
          url: s.url,
          orderKey: fact.orderKey,
          blockNumber: fact.blockNumber,
          txId,
          body: bodyOf(s.profile, id, s.id, fact),
          attempts: 0,
          nextAttemptAt: 0,
          lastError: null,
        });
      }
    }
    this.outbox.seen({ block: block.toString(), txId }, deliveries);
    if (deliveries.length > 0) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.dispatch(), ms);
  }

  /** Starts what may go now and sets the timer for the earliest retry. */
  private dispatch(): void {
    const now = Date.now();
    const heads = new Map<string, Delivery>();
    for (const d of this.outbox.pending.values()) {
      const key = `${d.subscriptionId}\n${d.orderKey}`;
      const head = heads.get(key);
      if (head === undefined || d.seq < head.seq) heads.set(key, d);
    }
    let next = Number.POSITIVE_INFINITY;
    for (const [key, d] of [...heads].sort((a, b) => a[1].seq - b[1].seq)) {
      if (this.busyKeys.has(key)) continue;
      if (d.nextAttemptAt > now) {
        next = Math.min(next, d.nextAttemptAt);
        continue;
      }
      if (this.inFlight.size >= this.options.concurrency) break;
      this.busyKeys.add(key);
      const p = this.send(d).finally(() => {
        this.busyKeys.delete(key);
        this.inFlight.delete(d.id);
        this.schedule(0);
      });
      this.inFlight.set(d.id, p);
    }
    if (Number.isFinite(next)) this.schedule(Math.max(0, next - now));
  }

  private async send(d: Delivery): Promise<void> {
    let error: string;
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.signer.headers(d.id, d.body) },
        body: d.body,
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        this.outbox.delivered(d.id);
        this.onResult('delivered');
        return;
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      error = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${this.options.requestTimeoutMs} ms` : String(err);
    }
    if (this.stopped) return;
    const attempts = d.attempts + 1;
    if (attempts >= this.options.maxAttempts) {
      this.outbox.deadLetter(d.id, `${attempts} attempts; last: ${error}`);
      this.onResult('dead');
      this.log.warn({ deliveryId: d.id, subscriptionId: d.subscriptionId, error }, 'delivery moved to the dead letters');
      return;
    }
    this.outbox.attempted(d.id, attempts, Date.now() + backoffMs(attempts, this.options.retryBaseMs, this.options.retryMaxMs), error);
    this.onResult('retry');
    this.log.info({ deliveryId: d.id, attempts, error }, 'delivery failed; retrying after a backoff');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.stream?.close();
    await Promise.allSettled([this.following, ...this.inFlight.values()]);
  }
}
