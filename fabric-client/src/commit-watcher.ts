/**
 * Commit statuses from one stream of filtered blocks instead of one CommitStatus call per
 * transaction. Each such call is signed by the client, checked against the channel's ACL by the
 * peer (a signature verification) and answered on its own: about 7 % of the REST gateway's CPU and
 * 4 % of its peer's at saturation (bench/RESULTS.md, 2026-12-05). The stream carries every
 * transaction's id and validation code as its block commits, which is all a waiter needs.
 *
 * The stream is an optimisation, never the authority: a transaction not seen on it within
 * `fallbackAfterMs` (the stream stalled, was cut, or started after the block) is asked of the peer
 * with the CommitStatus call after all, and so is every one submitted while the stream is down.
 * A copy marked DUPLICATE_TXID is left to that call too: the status that counts is the first
 * commit of the id, which the peer's index holds and the stream may not have shown.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Network } from '@hyperledger/fabric-gateway';
import { peer } from '@hyperledger/fabric-protos';

export interface CommitStatus {
  successful: boolean;
  code: number;
  blockNumber: bigint;
}

export interface CommitWatcherOptions {
  /** How long a waiter waits for its transaction on the stream before asking the peer; default 10 s. */
  fallbackAfterMs?: number;
  /** Pause before the stream is opened again after it failed; default 1 s. */
  reconnectMs?: number;
  /** Told when the stream fails (logs). */
  onStreamError?: (e: unknown) => void;
}

/** A transaction waited for, registered before it is handed to the orderer. */
export interface ExpectedCommit {
  /** The status from the stream, or from `ask` when the stream does not bring it in time. */
  status(ask: () => Promise<CommitStatus>): Promise<CommitStatus>;
  /** The transaction will not be waited for (its hand-over failed). */
  cancel(): void;
}

interface Waiter {
  resolve?: (s: CommitStatus) => void;
  /** Seen before status() was called. */
  seen?: CommitStatus;
}

const DUPLICATE_TXID = peer.TxValidationCode.DUPLICATE_TXID;
const VALID = peer.TxValidationCode.VALID;

export class CommitWatcher {
  private readonly waiters = new Map<string, Waiter>();
  private live = false;
  private closed = false;
  /** The block after the last one read: where a stream opened again starts, so no block is skipped. */
  private next: bigint | undefined;
  private events: { close(): void } | undefined;
  private readonly fallbackAfterMs: number;
  private readonly reconnectMs: number;
  /** Transactions whose status came from the stream, and those asked of the peer after waiting on it (tests, metrics). */
  readonly counts = { fromStream: 0, asked: 0 };

  /** `network`: the channel as seen by an identity that may read it, fetched again for each new stream. */
  constructor(
    private readonly network: () => Network | Promise<Network>,
    o: CommitWatcherOptions = {},
  ) {
    this.fallbackAfterMs = o.fallbackAfterMs ?? 10_000;
    this.reconnectMs = o.reconnectMs ?? 1_000;
    void this.follow(o.onStreamError);
  }

  /** Whether the stream is open: a transaction expected now is seen on it. */
  get isLive(): boolean {
    return this.live;
  }

  /**
   * Registers a transaction about to be handed to the orderer. Undefined while the stream is down:
   * the caller asks the peer as it would without a watcher.
   */
  expect(transactionId: string): ExpectedCommit | undefined {
    if (!this.live || this.waiters.has(transactionId)) return undefined;
    const waiter: Waiter = {};
    this.waiters.set(transactionId, waiter);
    return {
      status: (ask) => {
        if (waiter.seen) return Promise.resolve(waiter.seen);
        return new Promise<CommitStatus>((resolve, reject) => {
          const timer = setTimeout(() => {
            if (this.waiters.get(transactionId) === waiter) this.waiters.delete(transactionId);
            this.counts.asked++;
            ask().then(resolve, reject);
          }, this.fallbackAfterMs);
          waiter.resolve = (s) => {
            clearTimeout(timer);
            resolve(s);
          };
        });
      },
      cancel: () => {
        if (this.waiters.get(transactionId) === waiter) this.waiters.delete(transactionId);
      },
    };
  }

  close(): void {
    this.closed = true;
    this.live = false;
    this.events?.close();
  }

  private async follow(onError?: (e: unknown) => void): Promise<void> {
    while (!this.closed) {
      try {
        const network = await this.network();
        const events = await network.getFilteredBlockEvents(this.next === undefined ? {} : { startBlock: this.next });
        this.events = events;
        if (this.closed) {
          events.close();
          return;
        }
        this.live = true;
        for await (const block of events) {
          const number = BigInt(block.getNumber());
          for (const tx of block.getFilteredTransactionsList()) this.seen(tx.getTxid(), tx.getTxValidationCode(), number);
          this.next = number + 1n;
        }
      } catch (e) {
        if (!this.closed) onError?.(e);
      }
      this.live = false;
      if (!this.closed) await sleep(this.reconnectMs);
    }
  }

  private seen(transactionId: string, code: number, blockNumber: bigint): void {
    const waiter = this.waiters.get(transactionId);
    if (!waiter || code === DUPLICATE_TXID) return;
    this.waiters.delete(transactionId);
    this.counts.fromStream++;
    const status = { successful: code === VALID, code, blockNumber };
    if (waiter.resolve) waiter.resolve(status);
    else waiter.seen = status;
  }
}
