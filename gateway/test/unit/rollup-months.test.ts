/**
 * Which KPI windows the month counters answer (wholeRollupMonths): those whose ends are both
 * starts of migration 011's rollup months (00:00 UTC+8 on a month's first day), as a monthly
 * report's window in the default zone is; any other window is read from the running totals.
 */
import { expect } from 'chai';
import { wholeRollupMonths } from '../../src/regulator-repository.js';
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
