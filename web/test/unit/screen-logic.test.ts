/** The screen's pure logic: the live list kept per alarm, labels in both languages, times in the site's zone. */
import { expect } from 'chai';
import { type Alarm, byGrade, merge } from '../../src/alarms.js';
import { LABEL_KEYS, translate } from '../../src/i18n.js';
import { siteTime } from '../../src/time.js';

const alarm = (alarmId: string, blockNumber: number, status: string): Alarm => ({
  alarmId,
  siteId: 'site-1',
  areaId: 'tank-farm',
  deviceId: 'gas-tank-farm',
  grade: 1,
  kind: 'flammable_gas_above_permit_criterion',
  status,
  recordedAt: '2026-12-04T02:00:00.000Z',
  responseMs: status === 'open' ? null : 12_000,
  blockNumber,
});

describe('web: screen logic', () => {
  it('keeps the object of every alarm an event does not change, so only the changed rows render again', () => {
    const opened = merge(new Map(), [alarm('a', 10, 'open'), alarm('b', 11, 'open')]);
    const acked = merge(opened, [alarm('a', 12, 'acknowledged')]);
    expect(acked.get('b')).to.equal(opened.get('b'));
    expect(acked.get('a')).to.not.equal(opened.get('a'));
  });

  it('groups the alarms not closed by grade 1 to 4, newest first in each', () => {
    const at = (x: Alarm, grade: number, recordedAt: string): Alarm => ({ ...x, grade, recordedAt });
    const m = merge(new Map(), [
      at(alarm('old-1', 1, 'open'), 1, '2026-12-04T01:00:00.000Z'),
      at(alarm('new-1', 2, 'acknowledged'), 1, '2026-12-04T03:00:00.000Z'),
      at(alarm('gone', 3, 'closed'), 1, '2026-12-04T04:00:00.000Z'),
      at(alarm('three', 4, 'open'), 3, '2026-12-04T02:00:00.000Z'),
    ]);
    expect(byGrade(m).map((rows) => rows.map((a) => a.alarmId))).to.deep.equal([['new-1', 'old-1'], [], ['three'], []]);
  });

  it('keeps the version of the newest block of each alarm, whatever order the stream sends them in', () => {
    const opened = merge(new Map(), [alarm('a', 10, 'open'), alarm('b', 11, 'open')]);
    const acked = merge(opened, [alarm('a', 12, 'acknowledged')]);
    expect(acked.get('a')!.status).to.equal('acknowledged');
    // The snapshot's older copy arriving after the acknowledgement does not undo it.
    expect(merge(acked, [alarm('a', 10, 'open')]).get('a')!.status).to.equal('acknowledged');
    expect([...acked.keys()].sort()).to.deep.equal(['a', 'b']);
    expect(opened.get('a')!.status, 'the earlier map is not changed').to.equal('open');
  });

  it('has every label in Chinese and in English', () => {
    for (const key of LABEL_KEYS) {
      expect(translate('zh', key), key).to.not.equal('');
      expect(translate('en', key), key).to.not.equal('');
    }
    expect(translate('zh', 'alarms')).to.equal('实时报警');
    expect(translate('en', 'alarms')).to.equal('Live alarms');
  });

  it("shows times in the site's time zone, not the browser's", () => {
    expect(siteTime('2026-12-04T02:00:00Z', 'Asia/Shanghai', 'en')).to.match(/^04\/12\/2026, 10:00:00 (GMT\+8|CST)$/);
    expect(siteTime('2026-12-04T02:00:00Z', 'Europe/London', 'en')).to.match(/^04\/12\/2026, 02:00:00 (GMT|UTC)$/);
    expect(siteTime(null, 'Asia/Shanghai', 'zh')).to.equal('—');
  });
});
