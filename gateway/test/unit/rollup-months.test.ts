/**
 * Which KPI windows the month counters answer (wholeRollupMonths): those whose ends are both
 * starts of migration 011's rollup months (00:00 UTC+8 on a month's first day), as a monthly
 * report's window in the default zone is; any other window is read from the running totals.
 */
import { expect } from 'chai';
import { isRollupDayStart, utcMonths, wholeRollupMonths } from '../../src/regulator-repository.js';
import { monthWindow } from '../../src/report-calendar.js';

describe('gateway: KPI windows of whole rollup months', () => {
  it("counts the months of windows from one rollup month's start to another's, across a year's end", () => {
    const feb = monthWindow('2026-02', 'Asia/Shanghai');
    expect(wholeRollupMonths(feb.from, feb.to)).to.equal(1);
    expect(wholeRollupMonths('2025-11-30T16:00:00Z', '2026-01-31T16:00:00Z')).to.equal(2);
    expect(wholeRollupMonths('2025-11-30T16:00:00.000Z', '2026-11-30T16:00:00.000Z')).to.equal(12);
    expect(wholeRollupMonths(feb.from, feb.from)).to.equal(0);
  });

  it('answers nothing for a window with an end off a rollup month start: another zone, 30 days, a month to date', () => {
    const utc = monthWindow('2026-02', 'UTC');
    expect(wholeRollupMonths(utc.from, utc.to)).to.equal(undefined);
    expect(wholeRollupMonths('2026-11-05T13:00:00Z', '2026-12-05T13:00:00Z')).to.equal(undefined);
    expect(wholeRollupMonths('2026-11-30T16:00:00Z', '2026-12-05T13:00:00Z')).to.equal(undefined);
    expect(wholeRollupMonths('2026-11-30T16:00:00.001Z', '2026-12-31T16:00:00Z')).to.equal(undefined);
  });
});

describe("gateway: which local days are rollup days (isRollupDayStart, a monthly report's day counts)", () => {
  it("takes every local midnight of the default zone's month and its end, not UTC's, nor an instant a millisecond off", () => {
    const feb = monthWindow('2026-02', 'Asia/Shanghai');
    expect(feb.days).to.have.length(28);
    expect([...feb.days.map((d) => d.from), feb.to].every(isRollupDayStart)).to.equal(true);
    const utc = monthWindow('2026-02', 'UTC');
    expect(utc.days.map((d) => isRollupDayStart(d.from))).to.deep.equal(utc.days.map(() => false));
    expect(isRollupDayStart('2026-02-01T16:00:00.001Z')).to.equal(false);
    expect(isRollupDayStart('2026-02-01T15:59:59.999Z')).to.equal(false);
    // Before 1970 the remainder is negative or -0: only -0 is a day's start.
    expect(isRollupDayStart('1969-12-30T16:00:00Z')).to.equal(true);
    expect(isRollupDayStart('1969-12-30T17:00:00Z')).to.equal(false);
  });
});

describe('gateway: the UTC months of a risk map window (utcMonths)', () => {
  /** The label of every instant as the bucket the database gives it, by the same rule as width_bucket. */
  const labelOf = (m: { starts: string[]; labels: string[] }, at: string) => m.labels[m.starts.filter((s) => Date.parse(s) <= Date.parse(at)).length];

  it('labels every instant of a window with its UTC month, across a year end and with an offset in the window', () => {
    const m = utcMonths('2025-11-15T10:00:00+08:00', '2026-02-01T00:00:00Z')!;
    expect(m.labels).to.deep.equal(['2025-11', '2025-12', '2026-01']);
    expect(m.starts).to.deep.equal(['2025-12-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
    expect(labelOf(m, '2025-11-15T02:00:00Z')).to.equal('2025-11');
    expect(labelOf(m, '2025-11-30T23:59:59.999Z')).to.equal('2025-11');
    expect(labelOf(m, '2025-12-01T00:00:00Z')).to.equal('2025-12');
    expect(labelOf(m, '2026-01-31T23:59:59.999Z')).to.equal('2026-01');
  });

  it("starts at from's own month when from is a month's first instant, and has one month for a window inside it", () => {
    expect(utcMonths('2026-03-01T00:00:00Z', '2026-05-01T00:00:00Z')).to.deep.equal({
      starts: ['2026-04-01T00:00:00.000Z'],
      labels: ['2026-03', '2026-04'],
    });
    expect(utcMonths('2026-03-31T16:00:00+08:00', '2026-04-01T00:00:00.001Z')).to.deep.equal({
      starts: ['2026-04-01T00:00:00.000Z'],
      labels: ['2026-03', '2026-04'],
    });
    expect(utcMonths('2026-03-02T00:00:00Z', '2026-03-30T00:00:00Z')).to.deep.equal({ starts: [], labels: ['2026-03'] });
  });

  it('a year has 12 or 13 months, 100 years are bucketed, and a window of over 1,200 months is not (the query groups by date_trunc)', () => {
    expect(utcMonths('2025-12-05T19:00:00Z', '2026-12-05T19:00:00Z')!.labels).to.have.length(13);
    expect(utcMonths('2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')!.labels).to.have.length(12);
    expect(utcMonths('1970-01-01T00:00:00Z', '2070-01-01T00:00:00Z')!.labels).to.have.length(1200);
    expect(utcMonths('1970-01-01T00:00:00Z', '2070-01-01T00:00:00.001Z')).to.equal(undefined);
    expect(utcMonths('1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z')).to.equal(undefined);
  });
});
