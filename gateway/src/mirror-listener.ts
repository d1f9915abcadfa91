/**
 * LISTENs on the indexer's notification channel (MIRROR_NOTIFY_CHANNEL) on a connection of its own,
 * so the live alarm stream reads the mirror as soon as a batch is committed rather than at its next
 * poll. A lost connection is reopened after a backoff; meanwhile the stream's poll still runs, so
 * a missed notification costs at most one poll period, never an alarm.
 */
import { MIRROR_NOTIFY_CHANNEL } from '@compliance-ledger/schema';
import pg from 'pg';
import type { Logger } from './logger.js';

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

export interface MirrorWakeups {
  /** Calls `wake` with the newest mirrored block whenever the indexer commits a batch. */
  start(wake: (block: number) => void): void;
  stop(): void;
}

export class MirrorListener implements MirrorWakeups {
  private client: pg.Client | undefined;
  private wake: ((block: number) => void) | undefined;
  private retry: NodeJS.Timeout | undefined;
  private delay = RETRY_MIN_MS;

  constructor(
    private readonly connectionString: string,
    private readonly log: Logger,
  ) {}

  start(wake: (block: number) => void): void {
    this.wake = wake;
    if (!this.client && !this.retry) void this.connect();
  }

  stop(): void {
    this.wake = undefined;
    clearTimeout(this.retry);
    this.retry = undefined;
    const c = this.client;
    this.client = undefined;
    void c?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: 5000, keepAlive: true });
    this.client = client;
    const lost = (err?: unknown) => {
      if (this.client !== client) return;
      this.client = undefined;
      void client.end().catch(() => undefined);
      if (!this.wake) return;
      this.log.warn({ err, retryInMs: this.delay }, 'alarm stream: lost the LISTEN connection to the mirror; polling only until it is back');
      this.retry = setTimeout(() => {
        this.retry = undefined;
        if (this.wake) void this.connect();
      }, this.delay);
      this.delay = Math.min(this.delay * 2, RETRY_MAX_MS);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (n) => {
      if (n.channel === MIRROR_NOTIFY_CHANNEL) this.wake?.(Number(n.payload));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${MIRROR_NOTIFY_CHANNEL}`);
      if (this.client !== client) {
        // Stopped while connecting.
        await client.end().catch(() => undefined);
        return;
      }
      this.delay = RETRY_MIN_MS;
      // Batches committed while this connection was down were not announced: look once now.
      this.wake?.(-1);
    } catch (err) {
      lost(err);
    }
  }
}
