/** The live alarm list as the stream builds it. */

export interface Alarm {
  alarmId: string;
  siteId: string;
  areaId: string;
  deviceId: string;
  grade: number;
  kind: string;
  status: string;
  recordedAt: string;
  responseMs: number | null;
  blockNumber: number;
}

/** Keeps, per alarm, the version of the newest block (the stream may send one twice). */
export function merge(known: Map<string, Alarm>, incoming: readonly Alarm[]): Map<string, Alarm> {
  const next = new Map(known);
  for (const a of incoming) {
    const had = next.get(a.alarmId);
    if (!had || had.blockNumber <= a.blockNumber) next.set(a.alarmId, a);
  }
  return next;
}

export const GRADES = [1, 2, 3, 4] as const;

/** The alarms not closed, per grade 1–4 (GRADES' order), newest first in each. */
export function byGrade(alarms: ReadonlyMap<string, Alarm>): Alarm[][] {
  const out: Alarm[][] = GRADES.map(() => []);
  for (const a of alarms.values()) if (a.status !== 'closed') out[GRADES.indexOf(a.grade as (typeof GRADES)[number])]?.push(a);
  for (const rows of out) rows.sort((a, b) => (a.recordedAt < b.recordedAt ? 1 : a.recordedAt > b.recordedAt ? -1 : 0));
  return out;
}
