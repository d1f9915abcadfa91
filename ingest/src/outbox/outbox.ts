import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SignedAlarm } from '../pipeline/alarm-signature.js';
import type { LedgerOutcome } from './alarm-ledger.js';
import { AppendLog, readAppendLog, rewriteAppendLog } from './append-log.js';

export interface OutboxEntry {
  alarm: SignedAlarm;
  /** When the alarm entered the outbox (ms since epoch). */
  enqueuedAt: number;
  /** The MQTT delivery that raised it (sha256 of topic and payload), when known. */
  source?: string;
}

type Record =
  | { op: 'put'; alarm: SignedAlarm; enqueuedAt: number; source?: string }
  | { op: 'settle'; alarmId: string; outcome: LedgerOutcome; at: number; source?: string };

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
  /** Which delivery raised each alarm, for as long as the alarm is remembered (pending or kept settled). */
  private readonly sourceById = new Map<string, string>();
  private readonly sources = new Set<string>();

  private constructor(private readonly log: AppendLog) {
    super();
  }

  static async open(dataDir: string): Promise<Outbox> {
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, 'outbox.jsonl');
    const pending = new Map<string, OutboxEntry>();
    const settled = new Map<string, LedgerOutcome>();
    const sourceById = new Map<string, string>();
    for (const r of readAppendLog<Record>(path)) {
      const id = r.op === 'put' ? r.alarm.fields.alarmId : r.alarmId;
      if (r.source !== undefined && !sourceById.has(id)) sourceById.set(id, r.source);
      if (r.op === 'put') {
        if (!settled.has(id)) pending.set(id, { alarm: r.alarm, enqueuedAt: r.enqueuedAt, ...(r.source !== undefined ? { source: r.source } : {}) });
      } else {
        pending.delete(id);
        settled.set(id, r.outcome);
      }
    }
    const keep = [...settled].slice(-KEEP_SETTLED);
    const sourced = (id: string) => (sourceById.has(id) ? { source: sourceById.get(id)! } : {});
    rewriteAppendLog(path, [
      ...keep.map(([alarmId, outcome]): Record => ({ op: 'settle', alarmId, outcome, at: 0, ...sourced(alarmId) })),
      ...[...pending.values()].map((e): Record => ({ op: 'put', ...e })),
    ]);
    const outbox = new Outbox(await AppendLog.open(path));
    for (const [id, e] of pending) outbox.pendingById.set(id, e);
    for (const [id, o] of keep) outbox.settledById.set(id, o);
    for (const id of [...pending.keys(), ...keep.map(([k]) => k)]) {
      const source = sourceById.get(id);
      if (source !== undefined) outbox.remember(id, source);
    }
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
  async enqueueAll(alarms: readonly SignedAlarm[], now = Date.now(), source?: string): Promise<SignedAlarm[]> {
    const entries: OutboxEntry[] = [];
    for (const alarm of alarms) {
      const id = alarm.fields.alarmId;
      if (this.pendingById.has(id) || this.settledById.has(id)) continue;
      const entry: OutboxEntry = { alarm, enqueuedAt: now, ...(source !== undefined ? { source } : {}) };
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
    for (const entry of entries) {
      if (source !== undefined) this.remember(entry.alarm.fields.alarmId, source);
      this.emit('enqueued', entry);
    }
    return entries.map((e) => e.alarm);
  }

  /**
   * Whether this delivery (sha256 of topic and payload) already queued alarms: a process that
   * crashed after the fsync but before the PUBACK gets the message again with its area state
   * gone, and may grade it differently; the alarms it raised the first time stand.
   */
  raisedBy(source: string): boolean {
    return this.sources.has(source);
  }

  private remember(alarmId: string, source: string): void {
    this.sourceById.set(alarmId, source);
    this.sources.add(source);
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
    const source = this.sourceById.get(alarmId);
    await this.log.append({ op: 'settle', alarmId, outcome, at: now, ...(source !== undefined ? { source } : {}) } satisfies Record);
    this.pendingById.delete(alarmId);
    this.settledById.set(alarmId, outcome);
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
