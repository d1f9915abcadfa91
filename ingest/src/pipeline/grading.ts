import {
  ALARM_GRADES,
  ALARM_KIND_WIND_FORCE_5,
  ALARM_KIND_WIND_FORCE_6,
  type AlarmGrade,
  WIND_FORCE_5_MS,
  WIND_FORCE_6_MS,
  windStopsOperation,
} from '@compliance-ledger/schema';
import type { AreaSnapshot } from './area-state.js';
import { criterionRatio } from './gas-criterion.js';
import type { StandardMessage } from './message.js';

export interface GradingRules {
  /** Minimum score per grade; from the model manifest, falling from grade 1 to grade 4. */
  gradeThresholds: Readonly<Record<`${AlarmGrade}`, number>>;
  /**
   * Oxygen, % by volume. Below o2LowVolPct is deficiency everywhere. Above: where a confined-space
   * permit is live, its gas-test maximum (o2ConfinedMaxVolPct, 21 %), since a reading the permit's
   * gas test would fail must not go unalarmed while people are inside; elsewhere no permit has an
   * oxygen criterion and only enrichment (o2NeverAboveVolPct, 23.5 %) is alarmed.
   */
  o2LowVolPct: number;
  o2NeverAboveVolPct: number;
  o2ConfinedMaxVolPct: number;
  /** Occupational exposure limits (GBZ 2.1) in ppm; configurable because the conversion is ours. */
  h2sLimitPpm: number;
  coLimitPpm: number;
}

export interface AlarmCandidate {
  kind: string;
  grade: AlarmGrade;
  /** 'rule' when a hard rule decided the grade, 'score' when the model did. */
  basis: 'rule' | 'score';
}

export const KIND_FLAMMABLE_GAS = 'flammable_gas_above_permit_criterion';
export const KIND_OXYGEN = 'oxygen_out_of_range';
export const KIND_H2S = 'h2s_above_limit';
export const KIND_CO = 'co_above_limit';
export const KIND_RISK = 'risk_score';

/** The most severe grade whose threshold the score reaches (at the threshold counts), or none. */
export function gradeForScore(score: number, thresholds: GradingRules['gradeThresholds']): AlarmGrade | undefined {
  for (const grade of ALARM_GRADES) {
    if (score >= thresholds[`${grade}`]) return grade;
  }
  return undefined;
}

/**
 * Rules that no score can override. Flammable gas above the permit criterion is always grade I,
 * even far below the detector's own alarm set-point (an alarm is not a gas-test pass, and no
 * alarm is not one either). Oxygen and toxic gases are grade I where people are inside a
 * confined space, grade II elsewhere. Strong wind where outdoor work may be under way: see windAlarmKind.
 */
export function hardRuleAlarms(snapshot: AreaSnapshot, rules: GradingRules): AlarmCandidate[] {
  const r = snapshot.reading;
  const confined = snapshot.permitTypes.includes('confined_space');
  const out: AlarmCandidate[] = [];
  if (criterionRatio(r.flammableLelPct, r.flammableGasLelVolPct) > 1) {
    out.push({ kind: KIND_FLAMMABLE_GAS, grade: 1, basis: 'rule' });
  }
  if (r.o2VolPct < rules.o2LowVolPct || r.o2VolPct > (confined ? rules.o2ConfinedMaxVolPct : rules.o2NeverAboveVolPct)) {
    out.push({ kind: KIND_OXYGEN, grade: confined ? 1 : 2, basis: 'rule' });
  }
  if (r.h2sPpm > rules.h2sLimitPpm) out.push({ kind: KIND_H2S, grade: confined ? 1 : 2, basis: 'rule' });
  if (r.coPpm > rules.coLimitPpm) out.push({ kind: KIND_CO, grade: confined ? 1 : 2, basis: 'rule' });
  const wind = windAlarmKind(r.windMs, snapshot.permitTypes);
  if (wind !== null) out.push({ kind: wind, grade: 3, basis: 'rule' });
  return out;
}

/**
 * Strong wind is raised only where it stops some live permit's type (outdoors; whether the work
 * is outdoors is on the permit, so the chaincode decides which permits it stops). Grade III: a
 * stop condition, not an emergency, so it does not suspend the area's other work.
 */
export function windAlarmKind(windMs: number, permitTypes: AreaSnapshot['permitTypes']): string | null {
  const stops = (kind: string) => permitTypes.some((t) => windStopsOperation(kind, t));
  if (windMs >= WIND_FORCE_6_MS && stops(ALARM_KIND_WIND_FORCE_6)) return ALARM_KIND_WIND_FORCE_6;
  if (windMs >= WIND_FORCE_5_MS && stops(ALARM_KIND_WIND_FORCE_5)) return ALARM_KIND_WIND_FORCE_5;
  return null;
}

/**
 * The alarms a message raises: the hard rules on the area's state, plus one scored alarm. The
 * scored alarm is named after the triggering detection's behaviour only when that behaviour is
 * what lifts the grade (`scoreWithout` is the area's score with the behaviour left out); otherwise a phone
 * seen during a gas leak would be reported as a grade I phone alarm. Everything else is the
 * area's overall `risk_score`, deduplicated with the readings' alarms.
 */
export function gradeMessage(trigger: StandardMessage, snapshot: AreaSnapshot, score: number, rules: GradingRules, scoreWithout?: number): AlarmCandidate[] {
  const out = hardRuleAlarms(snapshot, rules);
  const grade = gradeForScore(score, rules.gradeThresholds);
  if (grade !== undefined) {
    let kind = KIND_RISK;
    if (trigger.kind === 'ai' && scoreWithout !== undefined) {
      const before = gradeForScore(scoreWithout, rules.gradeThresholds);
      if (before === undefined || grade < before) kind = `behaviour.${trigger.detection.behaviour}`;
    }
    out.push({ kind, grade, basis: 'score' });
  }
  return out;
}
