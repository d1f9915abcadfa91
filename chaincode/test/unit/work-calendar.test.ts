import type { PermitRecord, WorkCalendar } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { nightOrHolidayReason } from '../../src/work-calendar';
import { application, fresh, HOUR, iso, MIN, seed, who } from '../support/fixtures';

// China: UTC+8, night 22:00–06:00, Saturday and Sunday off; 1 Oct a holiday, Sunday 27 Sep 2026 worked instead.
const CHINA: WorkCalendar = {
  utcOffsetMinutes: 480,
  nightStartMinute: 22 * 60,
  nightEndMinute: 6 * 60,
  restDays: [0, 6],
  holidays: ['2026-10-01'],
  workdays: ['2026-09-27'],
};
const local = (s: string) => Date.parse(`${s}+08:00`);

describe('work calendar: night, rest days and holidays from the planned window', () => {
  it('the night begins at 22:00 local and ends at 06:00: a window ending at 22:00 or starting at 06:00 does not reach it', () => {
    expect(nightOrHolidayReason(local('2026-09-29T14:00:00'), local('2026-09-29T22:00:00'), CHINA)).to.equal(null);
    expect(nightOrHolidayReason(local('2026-09-29T14:00:00'), local('2026-09-29T22:00:01'), CHINA)).to.contain(
      'reaches the night (22:00–06:00, UTC+08:00) on 2026-09-29',
    );
    expect(nightOrHolidayReason(local('2026-09-30T06:00:00'), local('2026-09-30T12:00:00'), CHINA)).to.equal(null);
    expect(nightOrHolidayReason(local('2026-09-30T05:59:59'), local('2026-09-30T12:00:00'), CHINA)).to.contain('night');
  });
  it('rest days and holidays are local dates; an adjusted working day is not a rest day', () => {
    expect(nightOrHolidayReason(local('2026-10-03T09:00:00'), local('2026-10-03T12:00:00'), CHINA)).to.contain('2026-10-03 is a rest day');
    expect(nightOrHolidayReason(local('2026-10-01T09:00:00'), local('2026-10-01T12:00:00'), CHINA)).to.contain('2026-10-01 is a holiday');
    expect(nightOrHolidayReason(local('2026-09-27T09:00:00'), local('2026-09-27T12:00:00'), CHINA)).to.equal(null);
    // 23:00 UTC on Friday 2 Oct is 07:00 on Saturday 3 Oct in China: the local date decides
    expect(nightOrHolidayReason(Date.parse('2026-10-02T23:00:00Z'), Date.parse('2026-10-02T23:30:00Z'), CHINA)).to.contain('2026-10-03 is a rest day');
    // a weekday window that runs into the holiday
    expect(nightOrHolidayReason(local('2026-09-30T08:00:00'), local('2026-10-01T00:00:01'), { ...CHINA, nightStartMinute: 0, nightEndMinute: 0 })).to.contain(
      '2026-10-01 is a holiday',
    );
  });
  it('no calendar, or no night hours and no rest days, finds nothing', () => {
    expect(nightOrHolidayReason(local('2026-10-03T23:00:00'), local('2026-10-04T03:00:00'), null)).to.equal(null);
    expect(
      nightOrHolidayReason(local('2026-10-03T23:00:00'), local('2026-10-04T03:00:00'), { ...CHINA, nightStartMinute: 0, nightEndMinute: 0, restDays: [] }),
    ).to.equal(null);
  });
});

describe('work calendar: hot work raised by the ledger, not by the applicant', () => {
  it('with a calendar in the policy, a hot-work window reaching the night is level 1 even when the flag is false, with the reason on the permit', async () => {
    const h = fresh();
    await seed(h); // h.now is T0 = 2026-06-01T08:00Z, 16:00 in China
    const policy = await h.read('template', 'GetPolicy', who.pic, {});
    const { version: _v, publishedAt: _a, publishedBy: _b, ...rest } = policy;
    await h.ok('template', 'PublishPolicy', who.regulator, { ...rest, workCalendar: CHINA });
    const start = Date.parse('2026-06-01T09:00:00Z'); // 17:00 local
    const day = await h.ok<PermitRecord>(
      'permit',
      'Apply',
      who.applicant,
      application('CAL-1', { plannedStart: iso(start), plannedEnd: iso(start + 5 * HOUR) }),
    );
    expect([day.level, day.nightOrHoliday, day.nightOrHolidayFromCalendar]).to.deep.equal(['2', false, null]);
    const night = await h.ok<PermitRecord>(
      'permit',
      'Apply',
      who.applicant,
      application('CAL-2', { plannedStart: iso(start), plannedEnd: iso(start + 5 * HOUR + MIN) }),
    );
    expect([night.level, night.requestedLevel, night.nightOrHoliday]).to.deep.equal(['1', '2', true]);
    expect(night.nightOrHolidayFromCalendar).to.contain('reaches the night');
    // level 1 allows 8 h: a 9 h window into the night is refused, saying why the level rose
    const m = await h.fails(
      'RULE_VIOLATION',
      'permit',
      'Apply',
      who.applicant,
      application('CAL-3', { plannedStart: iso(start), plannedEnd: iso(start + 9 * HOUR) }),
    );
    expect(m).to.contain('at most 8 h (the level was raised: the window reaches the night');
    await h.fails('VALIDATION_FAILED', 'template', 'PublishPolicy', who.regulator, { ...rest, workCalendar: { ...CHINA, holidays: ['1 Oct'] } });
  });
});
