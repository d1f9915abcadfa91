import type { GasTestRecord, GasTestRule, LelClass, ToxicReading } from '@compliance-ledger/schema';
import { MINUTE_MS, parseIso } from './clock';

export interface GasReading {
  lelClass: LelClass;
  flammableVolPct: number;
  oxygenVolPct: number | null;
  toxic: ToxicReading[];
}

/**
 * Judges a sample against the template's criteria. The chaincode decides pass/fail from the
 * readings; the analyst's own verdict is not trusted. Limits are inclusive: 0.5 % vol passes
 * for a gas with LEL ≥ 4 %, 0.51 % does not. Toxic gases must be below their limit.
 */
export function evaluateGasReading(rule: GasTestRule, reading: GasReading): { passed: boolean; failures: string[] } {
  const failures: string[] = [];
  const maxFlammable = rule.flammableMaxVolPct[reading.lelClass];
  if (reading.flammableVolPct > maxFlammable) {
    failures.push(
      `flammable gas ${reading.flammableVolPct} % vol exceeds ${maxFlammable} % vol allowed for a gas with ` +
        `LEL ${reading.lelClass === 'lel_ge_4' ? '≥ 4 %' : '< 4 %'}`,
    );
  }
  if (rule.oxygen !== null) {
    const o2 = reading.oxygenVolPct;
    if (o2 === null) {
      failures.push('oxygen was not measured; confined spaces need an O2 reading');
    } else if (o2 > rule.oxygen.absoluteMaxVolPct) {
      failures.push(`oxygen ${o2} % vol is above the absolute maximum ${rule.oxygen.absoluteMaxVolPct} % vol (oxygen enrichment)`);
    } else if (o2 < rule.oxygen.minVolPct || o2 > rule.oxygen.maxVolPct) {
      failures.push(`oxygen ${o2} % vol is outside ${rule.oxygen.minVolPct}–${rule.oxygen.maxVolPct} % vol`);
    }
  }
  for (const t of reading.toxic) {
    if (t.measured >= t.limit) {
      failures.push(`${t.substance} ${t.measured} ${t.unit} is not below its exposure limit ${t.limit} ${t.unit}`);
    }
  }
  return { passed: failures.length === 0, failures };
}

/** A sample counts at the start of work when it passed and is at most maxAgeMinutes old. */
export function isFreshPass(test: Pick<GasTestRecord, 'passed' | 'sampleTakenAt'>, nowMs: number, maxAgeMinutes: number): boolean {
  if (!test.passed) return false;
  const taken = parseIso(test.sampleTakenAt);
  return taken <= nowMs && nowMs - taken <= maxAgeMinutes * MINUTE_MS;
}

/** An interruption longer (strictly) than the template's limit needs a new test before resuming. */
export function needsRetestAfterInterruption(interruptionMs: number, rule: GasTestRule): boolean {
  return rule.required && interruptionMs > rule.retestAfterInterruptionMinutes * MINUTE_MS;
}

/**
 * Before resuming: a new test is needed after an interruption longer than the template's limit,
 * and always after a suspension by a gas alarm (a sensor alarm, or reason gas_alarm), however
 * short: the alarm says the atmosphere changed, and closing the alarm does not measure it again.
 */
export function needsRetestBeforeResuming(interruptionMs: number, byGasAlarm: boolean, rule: GasTestRule): boolean {
  return rule.required && (byGasAlarm || needsRetestAfterInterruption(interruptionMs, rule));
}

/** The newest test that counts for starting or resuming work now, taken no earlier than notBeforeMs. */
export function findStartingTest(tests: GasTestRecord[], nowMs: number, rule: GasTestRule, notBeforeMs = Number.NEGATIVE_INFINITY): GasTestRecord | undefined {
  return [...tests].reverse().find((t) => parseIso(t.sampleTakenAt) >= notBeforeMs && isFreshPass(t, nowMs, rule.maxAgeMinutes));
}

/** The newest passing sample, or undefined. */
export function lastPassingSampleMs(tests: Pick<GasTestRecord, 'passed' | 'sampleTakenAt'>[]): number | undefined {
  const passing = tests.filter((t) => t.passed).map((t) => parseIso(t.sampleTakenAt));
  return passing.length === 0 ? undefined : Math.max(...passing);
}

/** Daily re-test: the newest passing sample must be at most retestEveryMinutes old (inclusive). */
export function dailyRetestDue(tests: Pick<GasTestRecord, 'passed' | 'sampleTakenAt'>[], nowMs: number, rule: GasTestRule): boolean {
  if (!rule.required) return false;
  const last = lastPassingSampleMs(tests);
  return last === undefined || nowMs - last > rule.retestEveryMinutes * MINUTE_MS;
}

/**
 * Where continuous monitoring is required (特级 hot work, confined spaces), when the next reading
 * is due; the ledger reports it, it cannot force a sensor to report.
 */
export function monitoringDueAt(tests: Pick<GasTestRecord, 'passed' | 'sampleTakenAt'>[], rule: GasTestRule): number | null {
  if (rule.continuousMonitoringIntervalMinutes === null || tests.length === 0) return null;
  const last = Math.max(...tests.map((t) => parseIso(t.sampleTakenAt)));
  return last + rule.continuousMonitoringIntervalMinutes * MINUTE_MS;
}
