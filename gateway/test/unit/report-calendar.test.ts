/** The regulator's calendar: month and day boundaries at local midnight, whatever the zone's offset or daylight-saving changes. */
import { expect } from 'chai';
import { isoInstant, monthOf, monthWindow } from '../../src/report-calendar.js';

describe("gateway: the monthly report's calendar in the regulator's time zone", () => {
  it('a month in Asia/Shanghai (UTC+8) begins at 16:00 UTC on the last day of the month before', () => {
    const w = monthWindow('2026-02', 'Asia/Shanghai');
    expect([w.from, w.to]).to.deep.equal(['2026-01-31T16:00:00Z', '2026-02-28T16:00:00Z']);
    expect(w.days).to.have.length(28);
    expect(w.days[0]).to.deep.equal({ date: '2026-02-01', from: '2026-01-31T16:00:00Z' });
    expect(w.days[27]).to.deep.equal({ date: '2026-02-28', from: '2026-02-27T16:00:00Z' });
  });

  it('a transaction at 23:30 UTC on the last day of a month counts in the next month in Asia/Shanghai, in the same month in UTC', () => {
    const at = Date.parse('2026-11-30T23:30:00Z');
    expect(monthOf(at, 'Asia/Shanghai')).to.equal('2026-12');
    expect(monthOf(at, 'UTC')).to.equal('2026-11');
    const dec = monthWindow('2026-12', 'Asia/Shanghai');
    expect(at >= Date.parse(dec.from) && at < Date.parse(dec.to)).to.equal(true);
    const novUtc = monthWindow('2026-11', 'UTC');
    expect(at >= Date.parse(novUtc.from) && at < Date.parse(novUtc.to)).to.equal(true);
    const novShanghai = monthWindow('2026-11', 'Asia/Shanghai');
    expect(at < Date.parse(novShanghai.to)).to.equal(false);
  });

  it('follows daylight-saving changes: a day of 23 hours in Europe/Berlin in March', () => {
    const w = monthWindow('2026-03', 'Europe/Berlin');
    expect(w.from).to.equal('2026-02-28T23:00:00Z');
    expect(w.to).to.equal('2026-03-31T22:00:00Z');
    const march29 = w.days.find((d) => d.date === '2026-03-29')!;
    const march30 = w.days.find((d) => d.date === '2026-03-30')!;
    expect(Date.parse(march30.from) - Date.parse(march29.from)).to.equal(23 * 3_600_000);
  });

  it('writes the edges of the supported months so PostgreSQL reads them: 1970-01 and 9999-12 in every direction from UTC', () => {
    expect(monthWindow('1970-01', 'Asia/Shanghai').from).to.equal('1969-12-31T16:00:00Z');
    expect(monthWindow('9999-12', 'Asia/Shanghai').to).to.equal('9999-12-31T16:00:00Z');
    expect(monthWindow('9999-12', 'UTC').to).to.equal('10000-01-01T00:00:00Z');
    expect(monthWindow('9999-12', 'America/New_York').to).to.equal('10000-01-01T05:00:00Z');
    expect(isoInstant(Date.parse('2026-01-01T00:00:00.250Z'))).to.equal('2026-01-01T00:00:00.250Z');
  });

  it('hands out one frozen window per zone and month, so no caller can change what the next one reads', () => {
    const w = monthWindow('2026-03', 'Europe/Berlin');
    expect(monthWindow('2026-03', 'Europe/Berlin')).to.equal(w);
    expect(monthWindow('2026-03', 'UTC')).to.not.equal(w);
    expect(monthWindow('2026-03', 'UTC').from).to.equal('2026-03-01T00:00:00Z');
    expect(Object.isFrozen(w) && Object.isFrozen(w.days) && w.days.every((d) => Object.isFrozen(d))).to.equal(true);
    expect(Reflect.set(w.days[0]!, 'from', 'x')).to.equal(false);
    expect(w.days[0]!.from).to.equal('2026-02-28T23:00:00Z');
    // Past the bound the oldest windows go and are computed again, equal to what they were.
    for (let y = 1970; y < 2270; y++) monthWindow(`${y}-01`, 'Asia/Shanghai');
    const again = monthWindow('2026-03', 'Europe/Berlin');
    expect(again).to.not.equal(w);
    expect(again).to.deep.equal(w);
  });
});
