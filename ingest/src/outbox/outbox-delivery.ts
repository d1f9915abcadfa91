import type { AlarmLedger, LedgerOutcome } from './alarm-ledger.js';
import type { Outbox, OutboxEntry } from './outbox.js';

export interface DeliveryEvents {
  settled?(entry: OutboxEntry, outcome: LedgerOutcome): void;
  retrying?(entry: OutboxEntry, error: unknown, delayMs: number): void;
}

export interface DeliveryOptions {
  initialBackoffMs: number;
  maxBackoffMs: number;
  /**
   * Most alarms in flight at once (default 1). Alarms of one site and area always go one at a
   * time, oldest first: on the ledger an alarm of suspending grade reads and changes the area's
   * live permits, so two of one area in the same block would conflict (phantom read) anyway.
   */
  concurrency?: number;
}

const areaOf = (e: OutboxEntry) => `${e.alarm.fields.siteId}\u0000${e.alarm.fields.areaId}`;

/**
 * Drains the outbox into the ledger, oldest first. Up to `concurrency` alarms of different areas
 * are in flight together (so simultaneous incidents share a block instead of queueing behind one
 * another); within an area, alarms reach the ledger in the order they were raised. A failure that
 * may be transient leaves the alarm pending and pauses new submissions with exponential backoff,
 * so none is skipped and a ledger that is down is not hammered.
 */
export class OutboxDelivery {
  private stopped = true;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly busyAreas = new Set<string>();
  private backoff: number;
  private pausedUntil = 0;
  // New alarms and finished submissions wake the loop, but never cut a backoff short: a ledger
  // that is down would otherwise be hit once per incoming alarm.
  private readonly onEnqueued = () => this.wake?.();

  constructor(
    private readonly outbox: Outbox,
    private readonly ledger: AlarmLedger,
    private readonly options: DeliveryOptions,
    private readonly events: DeliveryEvents = {},
  ) {
    this.backoff = options.initialBackoffMs;
  }

  private get concurrency(): number {
    return Math.max(1, this.options.concurrency ?? 1);
  }

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
    await Promise.all(this.inFlight.values());
  }

  /** Sleeps until woken or `ms` passed (Infinity: until woken). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = ms === Infinity ? undefined : setTimeout(done, ms);
      const self = this;
      function done() {
        if (t) clearTimeout(t);
        if (self.wake === done) self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  /** Starts submissions of the oldest pending alarms whose area has none in flight. */
  private fill(): void {
    if (this.inFlight.size >= this.concurrency) return;
    for (const entry of this.outbox.pendingEntries()) {
      const id = entry.alarm.fields.alarmId;
      const area = areaOf(entry);
      if (this.inFlight.has(id) || this.busyAreas.has(area)) continue;
      this.busyAreas.add(area);
      const p = this.deliver(entry).finally(() => {
        this.inFlight.delete(id);
        this.busyAreas.delete(area);
        this.wake?.();
      });
      this.inFlight.set(id, p);
      if (this.inFlight.size >= this.concurrency) return;
    }
  }

  private async deliver(entry: OutboxEntry): Promise<void> {
    let outcome: LedgerOutcome;
    try {
      outcome = await this.ledger.submitAlarm(entry.alarm);
    } catch (error) {
      // Several alarms in flight fail together when the ledger goes down: one pause for them
      // all, and the backoff grows once per pause, not once per alarm.
      const now = Date.now();
      if (now >= this.pausedUntil) {
        this.pausedUntil = now + this.backoff;
        this.backoff = Math.min(this.backoff * 2, this.options.maxBackoffMs);
      }
      this.events.retrying?.(entry, error, this.pausedUntil - now);
      return;
    }
    this.backoff = this.options.initialBackoffMs;
    try {
      await this.outbox.settle(entry.alarm.fields.alarmId, outcome);
    } catch (error) {
      // Not recorded as settled: it stays pending and the next submit meets the ledger's
      // duplicate refusal, which settles it then.
      this.events.retrying?.(entry, error, this.options.maxBackoffMs);
      this.pausedUntil = Math.max(this.pausedUntil, Date.now() + this.options.maxBackoffMs);
      return;
    }
    this.events.settled?.(entry, outcome);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const pause = this.pausedUntil - Date.now();
      if (pause > 0) {
        await this.sleepThrough(pause);
        continue;
      }
      this.fill();
      // Woken by a finished submission or a new alarm; with nothing in flight and nothing
      // pending, only a new alarm (or stop) wakes it.
      await this.sleep(Infinity);
    }
  }

  /** Waits out a backoff pause: wake-ups by new alarms or finished submissions do not end it. */
  private async sleepThrough(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopped && Date.now() < until) await this.sleep(until - Date.now());
  }
}
