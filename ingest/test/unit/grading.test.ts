import { expect } from 'chai';
import { FEATURE_NAMES, isNight, localHour, toFeatures } from '../../src/model/features.js';
import type { AreaSnapshot } from '../../src/pipeline/area-state.js';
import { AreaStateStore } from '../../src/pipeline/area-state.js';
import { criterionRatio, permitCriterionVolPct } from '../../src/pipeline/gas-criterion.js';
import { type GradingRules, gradeForScore, gradeMessage, hardRuleAlarms, KIND_FLAMMABLE_GAS, KIND_OXYGEN } from '../../src/pipeline/grading.js';
import type { StandardMessage } from '../../src/pipeline/message.js';

const rules: GradingRules = {
  gradeThresholds: { '1': 0.95, '2': 0.85, '3': 0.7, '4': 0.5 },
  o2LowVolPct: 19.5,
  o2NeverAboveVolPct: 23.5,
  o2ConfinedMaxVolPct: 21,
  h2sLimitPpm: 7,
  coLimitPpm: 26,
};
const T0 = Date.parse('2026-11-30T02:00:00Z');

function snapshot(reading: Partial<AreaSnapshot['reading']>, permitTypes: AreaSnapshot['permitTypes'] = []): AreaSnapshot {
  return {
    siteId: 's',
    areaId: 'a',
    observedAt: T0,
    reading: { flammableLelPct: 0, flammableGasLelVolPct: 5, o2VolPct: 20.9, h2sPpm: 0, coPpm: 0, temperatureC: 20, windMs: 0, ...reading },
    detections: {},
    clipCid: '',
    permitTypes,
  };
}
const kinds = (s: AreaSnapshot) => hardRuleAlarms(s, rules).map((a) => `${a.kind}:${a.grade}`);

describe('grading', () => {
  describe('score thresholds', () => {
    it('a score exactly at a threshold takes that grade; just below takes the next', () => {
      expect(gradeForScore(0.95, rules.gradeThresholds)).to.equal(1);
      expect(gradeForScore(0.9499999, rules.gradeThresholds)).to.equal(2);
      expect(gradeForScore(0.85, rules.gradeThresholds)).to.equal(2);
      expect(gradeForScore(0.8499999, rules.gradeThresholds)).to.equal(3);
      expect(gradeForScore(0.7, rules.gradeThresholds)).to.equal(3);
      expect(gradeForScore(0.6999999, rules.gradeThresholds)).to.equal(4);
      expect(gradeForScore(0.5, rules.gradeThresholds)).to.equal(4);
      expect(gradeForScore(0.4999999, rules.gradeThresholds)).to.equal(undefined);
      expect(gradeForScore(1, rules.gradeThresholds)).to.equal(1);
      expect(gradeForScore(0, rules.gradeThresholds)).to.equal(undefined);
    });
  });

  describe('wind: GB 30871 stops outdoor hot work and height at force 5, lifting at force 6', () => {
    const F5 = 'wind_at_or_above_force_5';
    const F6 = 'wind_at_or_above_force_6';
    it('force 5 starts at 8.0 m/s and force 6 at 10.8 m/s, for the permit types they stop', () => {
      expect(kinds(snapshot({ windMs: 7.99 }, ['hot_work']))).to.deep.equal([]);
      expect(kinds(snapshot({ windMs: 8.0 }, ['hot_work']))).to.deep.equal([`${F5}:3`]);
      expect(kinds(snapshot({ windMs: 10.79 }, ['work_at_height']))).to.deep.equal([`${F5}:3`]);
      expect(kinds(snapshot({ windMs: 10.8 }, ['hot_work']))).to.deep.equal([`${F6}:3`]);
      // lifting carries on in force 5 and stops at force 6
      expect(kinds(snapshot({ windMs: 10.79 }, ['lifting']))).to.deep.equal([]);
      expect(kinds(snapshot({ windMs: 10.8 }, ['lifting']))).to.deep.equal([`${F6}:3`]);
    });
    it('no wind alarm where no live permit is of a type that wind stops', () => {
      expect(kinds(snapshot({ windMs: 20 }, ['confined_space', 'excavation']))).to.deep.equal([]);
      expect(kinds(snapshot({ windMs: 20 }))).to.deep.equal([]);
    });
  });

  describe('flammable gas: the permit criterion is by volume', () => {
    it('LEL ≥ 4 % allows 0.5 % by volume, LEL < 4 % only 0.2 %', () => {
      expect(permitCriterionVolPct(4)).to.equal(0.5);
      expect(permitCriterionVolPct(3.99)).to.equal(0.2);
    });
    it('methane at exactly 10 % LEL (0.5 % vol) passes; a hair above is grade I', () => {
      expect(criterionRatio(10, 5)).to.equal(1);
      expect(kinds(snapshot({ flammableLelPct: 10 }))).to.deep.equal([]);
      expect(kinds(snapshot({ flammableLelPct: 10.01 }))).to.deep.equal([`${KIND_FLAMMABLE_GAS}:1`]);
    });
    it('propane (LEL 2.1 %) fails above 0.2 % vol, i.e. above about 9.52 % LEL', () => {
      expect(kinds(snapshot({ flammableLelPct: 9.52, flammableGasLelVolPct: 2.1 }))).to.deep.equal([]);
      expect(kinds(snapshot({ flammableLelPct: 9.53, flammableGasLelVolPct: 2.1 }))).to.deep.equal([`${KIND_FLAMMABLE_GAS}:1`]);
    });
    it('a reading below the detector set-point (25 % LEL) still fails the criterion: grade I', () => {
      expect(kinds(snapshot({ flammableLelPct: 20 }))).to.deep.equal([`${KIND_FLAMMABLE_GAS}:1`]);
    });
    it('the hard rule wins over a low model score', () => {
      const trigger = { kind: 'env' } as StandardMessage;
      const out = gradeMessage(trigger, snapshot({ flammableLelPct: 12 }), 0.01, rules);
      expect(out).to.deep.equal([{ kind: KIND_FLAMMABLE_GAS, grade: 1, basis: 'rule' }]);
    });
  });

  describe('oxygen and toxic gases', () => {
    it('where no confined-space permit is live: 19.5 % and 23.5 % pass (no permit has an oxygen criterion), beyond them grade II', () => {
      for (const types of [[], ['hot_work'], ['hot_work', 'work_at_height']] as AreaSnapshot['permitTypes'][]) {
        expect(kinds(snapshot({ o2VolPct: 19.5 }, types))).to.deep.equal([]);
        expect(kinds(snapshot({ o2VolPct: 22 }, types))).to.deep.equal([]);
        expect(kinds(snapshot({ o2VolPct: 23.5 }, types))).to.deep.equal([]);
        expect(kinds(snapshot({ o2VolPct: 19.49 }, types))).to.deep.equal([`${KIND_OXYGEN}:2`]);
        expect(kinds(snapshot({ o2VolPct: 23.51 }, types))).to.deep.equal([`${KIND_OXYGEN}:2`]);
      }
    });
    it("where a confined-space permit is live: the permit's gas-test range 19.5–21 % (limits inclusive, as the chaincode judges), grade I outside it", () => {
      const confined = ['confined_space', 'hot_work'] as AreaSnapshot['permitTypes'];
      expect(kinds(snapshot({ o2VolPct: 19.5 }, confined))).to.deep.equal([]);
      expect(kinds(snapshot({ o2VolPct: 21 }, confined))).to.deep.equal([]);
      // A gas test fails above 21 %: the same reading in the space is an alarm, not only above 23.5 %.
      expect(kinds(snapshot({ o2VolPct: 21.01 }, confined))).to.deep.equal([`${KIND_OXYGEN}:1`]);
      expect(kinds(snapshot({ o2VolPct: 22 }, confined))).to.deep.equal([`${KIND_OXYGEN}:1`]);
      expect(kinds(snapshot({ o2VolPct: 23.51 }, confined))).to.deep.equal([`${KIND_OXYGEN}:1`]);
      expect(kinds(snapshot({ o2VolPct: 19.49 }, confined))).to.deep.equal([`${KIND_OXYGEN}:1`]);
    });
    it('H2S and CO at their limits pass, above them alarm', () => {
      expect(kinds(snapshot({ h2sPpm: 7, coPpm: 26 }))).to.deep.equal([]);
      expect(kinds(snapshot({ h2sPpm: 7.01, coPpm: 26.01 }, ['confined_space']))).to.deep.equal(['h2s_above_limit:1', 'co_above_limit:1']);
    });
  });

  describe('scored alarms', () => {
    const ai = { kind: 'ai', detection: { behaviour: 'smoking' } } as StandardMessage;
    it('are named after the detection when its behaviour is what lifts the grade', () => {
      expect(gradeMessage(ai, snapshot({}), 0.9, rules, 0.2)).to.deep.equal([{ kind: 'behaviour.smoking', grade: 2, basis: 'score' }]);
      expect(gradeMessage(ai, snapshot({}), 0.96, rules, 0.9)).to.deep.equal([{ kind: 'behaviour.smoking', grade: 1, basis: 'score' }]);
    });
    it('are the area’s risk_score when the grade is the same without the behaviour (e.g. a phone during a gas leak)', () => {
      expect(gradeMessage(ai, snapshot({}), 0.97, rules, 0.96)).to.deep.equal([{ kind: 'risk_score', grade: 1, basis: 'score' }]);
      expect(gradeMessage({ kind: 'env' } as StandardMessage, snapshot({}), 0.5, rules)).to.deep.equal([{ kind: 'risk_score', grade: 4, basis: 'score' }]);
      expect(gradeMessage({ kind: 'env' } as StandardMessage, snapshot({}), 0.49, rules)).to.deep.equal([]);
    });
  });

  describe('area state and features', () => {
    it('takes the worst value across an area’s devices, judging gas against each gas’s own criterion', () => {
      const store = new AreaStateStore({ readingTtlMs: 60_000, detectionTtlMs: 30_000, defaultGasLelVolPct: 5 });
      const msg = (deviceId: string, reading: object, at = T0) =>
        ({ v: 1, kind: 'env', messageId: `${deviceId}-${at}`, siteId: 's', areaId: 'a', deviceId, observedAt: at, reading }) as StandardMessage;
      store.apply(msg('d1', { flammableLelPct: 9, flammableGasLelVolPct: 5, o2VolPct: 20.5 }));
      const s = store.apply(msg('d2', { flammableLelPct: 8.8, flammableGasLelVolPct: 2.1, o2VolPct: 21.8 }));
      // 8.8 % LEL propane (0.1848 % vol of 0.2 allowed) is worse than 9 % LEL methane (0.45 of 0.5).
      expect(s.reading.flammableLelPct).to.equal(8.8);
      expect(s.reading.flammableGasLelVolPct).to.equal(2.1);
      expect(s.reading.o2VolPct).to.equal(21.8);
      // Readings older than the TTL no longer count.
      const later = store.apply(msg('d3', { windMs: 1 }, T0 + 61_000));
      expect(later.reading.flammableLelPct).to.equal(0);
    });
    it('uses the site’s local clock for night (20:00–06:00)', () => {
      // 12:30 UTC is 20:30 in China (UTC+8).
      const at = Date.parse('2026-11-30T12:30:00Z');
      expect(localHour(at, 480)).to.equal(20.5);
      expect(isNight(localHour(at, 480))).to.equal(true);
      expect(isNight(localHour(at, 0))).to.equal(false);
      expect(isNight(6)).to.equal(false);
      expect(isNight(5.99)).to.equal(true);
      const f = toFeatures({ ...snapshot({}, ['hot_work']), observedAt: at }, 480);
      expect(f[FEATURE_NAMES.indexOf('night')]).to.equal(1);
      expect(f[FEATURE_NAMES.indexOf('permit_hot_work')]).to.equal(1);
      expect(f[FEATURE_NAMES.indexOf('permit_lifting')]).to.equal(0);
    });
  });
});
