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
