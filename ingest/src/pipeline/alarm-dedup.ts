import type { AlarmGrade } from '@compliance-ledger/schema';

export interface Admission {
  windowStart: number;
  /** Undoes the admission (the alarm could not be queued). */
  release(): void;
}

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

  /**
   * Returns the window start when the alarm should be raised, undefined when it is a repeat.
   * Admitting records the alarm at once, so that concurrent messages cannot both pass; a caller
   * that then fails to queue the alarm must `release` it, or the retry would be taken for a repeat.
   */
  admit(siteId: string, areaId: string, kind: string, grade: AlarmGrade, observedAt: number): Admission | undefined {
    const key = `${siteId}\u0000${areaId}\u0000${kind}`;
    const start = this.windowStart(observedAt);
    let windows = this.seen.get(key);
    if (!windows) {
      windows = new Map();
      this.seen.set(key, windows);
    }
    const previous = windows.get(start);
    if (previous !== undefined && previous <= grade) return undefined;
    windows.set(start, grade);
    const oldest = start - AlarmDeduper.KEEP_WINDOWS * this.windowMs;
    for (const w of windows.keys()) if (w < oldest) windows.delete(w);
    const release = () => {
      if (windows.get(start) !== grade) return;
      if (previous === undefined) windows.delete(start);
      else windows.set(start, previous);
    };
    return { windowStart: start, release };
  }
}
