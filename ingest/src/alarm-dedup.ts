import type { AlarmGrade } from '@compliance-ledger/schema';

/**
 * One alarm per area and kind per fixed time window. Windows are aligned to the epoch and taken
 * from the source's timestamp, so a redelivered message falls into the same window on any
 * replica and after any restart, which is what makes the alarm id deterministic. Within a window a
 * strictly more severe grade still gets through: an escalation must not be swallowed.
 */
export class AlarmDeduper {
  private readonly seen = new Map<string, Map<number, AlarmGrade>>();
  // Late messages older than this many windows are no longer tracked.
  private static readonly KEEP_WINDOWS = 16;

  constructor(readonly windowMs: number) {
    if (!(windowMs > 0)) throw new Error('dedup window must be positive');
  }

  windowStart(observedAt: number): number {
    return Math.floor(observedAt / this.windowMs) * this.windowMs;
  }

  /** Returns the window start when the alarm should be raised, undefined when it is a repeat. */
  admit(siteId: string, areaId: string, kind: string, grade: AlarmGrade, observedAt: number): number | undefined {
    const key = `${siteId}\u0000${areaId}\u0000${kind}`;
    const start = this.windowStart(observedAt);
    let windows = this.seen.get(key);
    if (!windows) {
      windows = new Map();
      this.seen.set(key, windows);
    }
    const raised = windows.get(start);
    if (raised !== undefined && raised <= grade) return undefined;
    windows.set(start, grade);
    const oldest = start - AlarmDeduper.KEEP_WINDOWS * this.windowMs;
    for (const w of windows.keys()) if (w < oldest) windows.delete(w);
    return start;
  }
}
