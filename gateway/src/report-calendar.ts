/**
 * The regulator's calendar: months and days begin at midnight in the regulator's time zone, not in
 * UTC, so that a transaction at 23:30 UTC on the last day of a month (07:30 the next morning in
 * Asia/Shanghai) is reported in the month the regulator lived it in. Intl's time zone data gives
 * the offsets, daylight-saving changes included; the database is given UTC instants only, so the
 * result does not depend on the time zone data of PostgreSQL or PGlite.
 */

/**
 * One formatter per time zone: building an Intl.DateTimeFormat loads the zone's rules and costs about
 * as much as sixty uses of it, and a month window asks for sixty-odd offsets.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Milliseconds the zone is ahead of UTC at an instant (negative west of Greenwich). */
function zoneOffsetMs(timeZone: string, epochMs: number): number {
  const parts = formatterOf(timeZone).formatToParts(new Date(epochMs));
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)!.value);
  const wallClockAsUtc = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return wallClockAsUtc - Math.floor(epochMs / 1000) * 1000;
}

/** The UTC instant of local midnight starting the given day (month 1–12; day and month may overflow, as in Date.UTC). */
export function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  // The offset at the wall-clock time read as UTC can differ from the one at the true instant when a
  // daylight-saving change lies between them: one correction settles it.
  const first = wall - zoneOffsetMs(timeZone, wall);
  return wall - zoneOffsetMs(timeZone, first);
}

/**
 * An instant as ISO-8601 UTC without milliseconds when they are zero. Years past 9999 are written
 * out ("10000-01-01T…"), which PostgreSQL reads; toISOString's "+010000-…" it does not.
 */
export function isoInstant(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace(/^\+0*(\d{5,})/, '$1')
    .replace('.000Z', 'Z');
}

export interface MonthWindow {
  month: string;
  timeZone: string;
  /** First instant of the month, inclusive. */
  from: string;
  /** First instant of the next month, exclusive. */
  to: string;
  /** Each local day of the month: its date and its first instant; a day ends where the next begins (the last at `to`). */
  days: readonly { readonly date: string; readonly from: string }[];
}

/**
 * Windows already computed, by zone and month. A window is a pure function of the two, and the
 * sixty-odd offsets behind one cost about 0.6 ms of a monthly report's CPU (profiled at 1,000,000
 * permits); a regulator's screens ask for the same few months over and over. Bounded, oldest out.
 */
const windows = new Map<string, MonthWindow>();
const WINDOWS_KEPT = 256;

/** The month `YYYY-MM` in the time zone as [from, to) in UTC, with its days (frozen: shared between callers). */
export function monthWindow(month: string, timeZone: string): MonthWindow {
  const key = `${timeZone}\u0000${month}`;
  const known = windows.get(key);
  if (known) return known;
  const w = computeMonthWindow(month, timeZone);
  if (windows.size >= WINDOWS_KEPT) windows.delete(windows.keys().next().value!);
  windows.set(key, w);
  return w;
}

function computeMonthWindow(month: string, timeZone: string): MonthWindow {
  const [year, m] = month.split('-').map(Number) as [number, number];
  const daysInMonth = new Date(Date.UTC(year, m, 0)).getUTCDate();
  const days = Array.from({ length: daysInMonth }, (_, i) => ({
    date: `${month}-${String(i + 1).padStart(2, '0')}`,
    from: isoInstant(localMidnight(year, m, i + 1, timeZone)),
  }));
  for (const d of days) Object.freeze(d);
  return Object.freeze({ month, timeZone, from: days[0]!.from, to: isoInstant(localMidnight(year, m + 1, 1, timeZone)), days: Object.freeze(days) });
}

/** The month (YYYY-MM) an instant falls in, in the time zone. */
export function monthOf(epochMs: number, timeZone: string): string {
  const local = new Date(epochMs + zoneOffsetMs(timeZone, epochMs));
  return `${local.getUTCFullYear()}-${String(local.getUTCMonth() + 1).padStart(2, '0')}`;
}
