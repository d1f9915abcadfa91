import type { WorkCalendar } from '@compliance-ledger/schema';
import { DAY_MS, MINUTE_MS } from './clock';

/**
 * GB 30871 raises hot work one level on holidays, rest days and at night. With the site's work
 * calendar in the policy, the chaincode finds that from the planned window itself instead of
 * trusting the applicant's flag: the first local day of the window that is a holiday or a rest
 * day (not an adjusted working day), or the first night period the window reaches, is named.
 * The window is [start, end): work that ends exactly when the night begins does not reach it.
 */
export function nightOrHolidayReason(startMs: number, endMs: number, cal: WorkCalendar | null): string | null {
  if (cal === null || endMs <= startMs) return null;
  const offset = cal.utcOffsetMinutes * MINUTE_MS;
  const firstDay = Math.floor((startMs + offset) / DAY_MS) * DAY_MS - offset;
  for (let day = firstDay; day < endMs; day += DAY_MS) {
    const date = new Date(day + offset).toISOString().slice(0, 10);
    const weekday = new Date(day + offset).getUTCDay();
    if (cal.holidays.includes(date)) return `${date} is a holiday in the site's work calendar`;
    if (cal.restDays.includes(weekday) && !cal.workdays.includes(date)) return `${date} is a rest day in the site's work calendar`;
    for (const [from, to] of nightPeriods(cal)) {
      if (day + from * MINUTE_MS < endMs && day + to * MINUTE_MS > startMs) {
        const utc = `UTC${cal.utcOffsetMinutes >= 0 ? '+' : '-'}${hhmm(Math.abs(cal.utcOffsetMinutes))}`;
        return `the window reaches the night (${hhmm(cal.nightStartMinute)}–${hhmm(cal.nightEndMinute)}, ${utc}) on ${date}`;
      }
    }
  }
  return null;
}

/** The night as minute ranges of one local day; a night across midnight is two ranges. Equal bounds: no night. */
function nightPeriods(cal: WorkCalendar): [number, number][] {
  if (cal.nightStartMinute === cal.nightEndMinute) return [];
  if (cal.nightStartMinute < cal.nightEndMinute) return [[cal.nightStartMinute, cal.nightEndMinute]];
  return [
    [0, cal.nightEndMinute],
    [cal.nightStartMinute, 24 * 60],
  ];
}

function hhmm(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}
