/**
 * The live alarm stream behind /v1/alarm-stream: one poller per gateway asks the indexer's mirror
 * for blocks it has not seen and hands the alarms recorded or changed in them to every open screen,
 * so fifty screens cost the database one query per period, not fifty. Each screen gets only the
 * alarms its viewer may see (an enterprise user: those recorded by their own org). With `wakeups`
 * (the indexer's NOTIFY after each batch) it reads at once instead of waiting up to a period; the
 * poll stays as the safety net for a missed notification.
 */
import type { Logger } from './logger.js';
import type { MirrorWakeups } from './mirror-listener.js';
import type { RegulatorRepository } from './regulator-repository.js';

export type FeedAlarm = Record<string, unknown>;

interface Subscriber {
  /** undefined: every org's alarms (a regulator). */
  recordedByMsp: string | undefined;
  deliver(alarms: FeedAlarm[]): void;
  end(): void;
}

export class AlarmFeed {
  private readonly subscribers = new Set<Subscriber>();
  private cursor: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  /** A wake-up came during a read: read again right after it, not a period later. */
  private again = false;

  constructor(
    private readonly repo: RegulatorRepository,
    private readonly pollMs: number,
    private readonly log: Logger,
    private readonly wakeups?: MirrorWakeups,
  ) {}

  get size(): number {
    return this.subscribers.size;
  }

  /**
   * Registers a screen that has read the mirror up to block `since`; the poller runs while at
   * least one screen is open. The caller reads its snapshot after subscribing: every alarm changed
   * after `since` arrives here, so nothing falls between the two, and the few in both arrive twice
   * (screens keep the newest block of each alarm).
   */
  subscribe(recordedByMsp: string | undefined, since: number, deliver: (alarms: FeedAlarm[]) => void, end: () => void): () => void {
    const sub: Subscriber = { recordedByMsp, deliver, end };
    this.subscribers.add(sub);
    this.cursor = this.cursor === undefined ? since : Math.min(this.cursor, since);
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      this.wakeups?.start(() => void this.poll());
    }
    return () => {
      this.subscribers.delete(sub);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  /** Ends every open stream (the gateway is closing: an open stream would keep its server up). */
  close(): void {
    for (const s of this.subscribers) s.end();
    this.subscribers.clear();
    this.stop();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.wakeups?.stop();
    // A later screen brings the block of its own snapshot.
    this.cursor = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) {
      this.again = true;
      return;
    }
    this.polling = true;
    this.again = false;
    try {
      const head = await this.repo.mirroredBlock();
      if (this.cursor === undefined || head <= this.cursor) return;
      const changed = await this.repo.alarmsChanged(this.cursor, head);
      this.cursor = head;
      if (changed.length === 0) return;
      for (const s of this.subscribers) {
        const visible = s.recordedByMsp === undefined ? changed : changed.filter((a) => a.recordedByMsp === s.recordedByMsp);
        if (visible.length > 0) s.deliver(visible);
      }
    } catch (e) {
      // The mirror being briefly unreachable is not the screens' business: the next period retries.
      this.log.warn({ err: e }, 'alarm stream: the mirror could not be read');
    } finally {
      this.polling = false;
      if (this.again && this.timer) void this.poll();
    }
  }
}
