import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AppendLog, readAppendLog, rewriteAppendLog } from './append-log.js';
import type { LedgerOutcome } from './alarm-ledger.js';
import type { SignedAlarm } from './alarm-signature.js';

export interface OutboxEntry {
  alarm: SignedAlarm;
  /** When the alarm entered the outbox (ms since epoch). */
  enqueuedAt: number;
}

type Record =
  | { op: 'put'; alarm: SignedAlarm; enqueuedAt: number }
  | { op: 'settle'; alarmId: string; outcome: LedgerOutcome; at: number };

// Settled ids kept across compactions, so a redelivered message does not even reach the ledger.
const KEEP_SETTLED = 100_000;

/**
 * The durable queue between MQTT and the ledger: an append-only log of `put` and `settle` records.
 * An MQTT message is acknowledged only after its alarms are in the log, and an alarm leaves the
 * queue only when the ledger committed it or reported it as already there. Opening the log
 * replays it and compacts it, so a restart resumes exactly where the last process stopped.
 */
export class Outbox extends EventEmitter {
  private readonly pendingById = new Map<string, OutboxEntry>();
  private readonly settledById = new Map<string, LedgerOutcome>();

  private constructor(private readonly log: AppendLog) {
    super();
  }

  static async open(dataDir: string): Promise<Outbox> {
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, 'outbox.jsonl');
    const pending = new Map<string, OutboxEntry>();
    const settled = new Map<string, LedgerOutcome>();
    for (const r of readAppendLog<Record>(path)) {
      if (r.op === 'put') {
        if (!settled.has(r.alarm.fields.alarmId)) pending.set(r.alarm.fields.alarmId, { alarm: r.alarm, enqueuedAt: r.enqueuedAt });
      } else {
        pending.delete(r.alarmId);
        settled.set(r.alarmId, r.outcome);
      }
    }
    const keep = [...settled].slice(-KEEP_SETTLED);
    rewriteAppendLog(path, [
      ...keep.map(([alarmId, outcome]): Record => ({ op: 'settle', alarmId, outcome, at: 0 })),
      ...[...pending.values()].map((e): Record => ({ op: 'put', ...e })),
    ]);
    const outbox = new Outbox(await AppendLog.open(path));
    for (const [id, e] of pending) outbox.pendingById.set(id, e);
    for (const [id, o] of keep) outbox.settledById.set(id, o);
    return outbox;
  }

  get path(): string {
    return this.log.path;
  }

  get depth(): number {
    return this.pendingById.size;
  }

  /** Durably adds the alarm; false when this alarm id is already pending or settled. */
  async enqueue(alarm: SignedAlarm, now = Date.now()): Promise<boolean> {
    return (await this.enqueueAll([alarm], now)).length === 1;
  }

  /**
   * Durably adds the alarms, in their order, with one write and one fsync (a batch envelope's
   * alarms). Returns those added: an id already pending or settled, or repeated in the list, is
   * skipped, which is what makes a redelivered batch raise nothing twice. On failure none is added.
   */
  async enqueueAll(alarms: readonly SignedAlarm[], now = Date.now()): Promise<SignedAlarm[]> {
    const entries: OutboxEntry[] = [];
    for (const alarm of alarms) {
      const id = alarm.fields.alarmId;
      if (this.pendingById.has(id) || this.settledById.has(id)) continue;
      const entry = { alarm, enqueuedAt: now };
      // Taken at once, so that a concurrent caller with the same id is refused.
      this.pendingById.set(id, entry);
      entries.push(entry);
    }
    try {
      await this.log.appendAll(entries.map((e): Record => ({ op: 'put', ...e })));
    } catch (e) {
      for (const entry of entries) this.pendingById.delete(entry.alarm.fields.alarmId);
      throw e;
    }
    for (const entry of entries) this.emit('enqueued', entry);
    return entries.map((e) => e.alarm);
  }

  /** The oldest pending alarm, without copying the queue (a long outage can leave many). */
  oldest(): OutboxEntry | undefined {
    return this.pendingById.values().next().value;
  }

  /** Pending alarms, oldest first, without copying the queue. */
  pendingEntries(): IterableIterator<OutboxEntry> {
    return this.pendingById.values();
  }

  /** Pending alarms, oldest first. */
  pending(): OutboxEntry[] {
    return [...this.pendingById.values()];
  }

  outcome(alarmId: string): LedgerOutcome | undefined {
    return this.settledById.get(alarmId);
  }

  async settle(alarmId: string, outcome: LedgerOutcome, now = Date.now()): Promise<void> {
    await this.log.append({ op: 'settle', alarmId, outcome, at: now } satisfies Record);
    this.pendingById.delete(alarmId);
    this.settledById.set(alarmId, outcome);
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
