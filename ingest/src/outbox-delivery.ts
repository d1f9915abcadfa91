import type { AlarmLedger, LedgerOutcome } from './alarm-ledger.js';
import type { Outbox, OutboxEntry } from './outbox.js';

export interface DeliveryEvents {
  settled?(entry: OutboxEntry, outcome: LedgerOutcome): void;
  retrying?(entry: OutboxEntry, error: unknown, delayMs: number): void;
}

export interface DeliveryOptions {
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/**
 * Drains the outbox into the ledger, oldest first, one alarm at a time. A failure that may be
 * transient stops the drain and retries the same alarm with exponential backoff, so alarms reach
 * the ledger in the order they were raised and none is skipped while the ledger is down.
 */
export class OutboxDelivery {
  private stopped = true;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private idle = false;
  // New alarms wake an idle loop, but never cut a backoff short: a ledger that is down would
  // otherwise be hit once per incoming alarm.
  private readonly onEnqueued = () => {
    if (this.idle) this.wake?.();
  };

  constructor(
    private readonly outbox: Outbox,
    private readonly ledger: AlarmLedger,
    private readonly options: DeliveryOptions,
    private readonly events: DeliveryEvents = {},
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.outbox.on('enqueued', this.onEnqueued);
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.outbox.off('enqueued', this.onEnqueued);
    this.wake?.();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = ms === Infinity ? undefined : setTimeout(done, ms);
      function done() {
        if (t) clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    let backoff = this.options.initialBackoffMs;
    while (!this.stopped) {
      const entry = this.outbox.oldest();
      if (!entry) {
        this.idle = true;
        await this.sleep(Infinity);
        this.idle = false;
        continue;
      }
      let outcome: LedgerOutcome;
      try {
        outcome = await this.ledger.submitAlarm(entry.alarm);
      } catch (error) {
        this.events.retrying?.(entry, error, backoff);
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs);
        continue;
      }
      backoff = this.options.initialBackoffMs;
      try {
        await this.outbox.settle(entry.alarm.fields.alarmId, outcome);
      } catch (error) {
        // Not recorded as settled: it stays pending and the next submit meets the ledger's
        // duplicate refusal, which settles it then.
        this.events.retrying?.(entry, error, this.options.maxBackoffMs);
        await this.sleep(this.options.maxBackoffMs);
        continue;
      }
      this.events.settled?.(entry, outcome);
    }
  }
}
