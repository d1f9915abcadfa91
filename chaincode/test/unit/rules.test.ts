import type { CertificateRecord, GasTestRule, GateCheckRecord, PermitRecord, SimopsRule } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { alarmStopReason, alarmSuspendsPermits, responseMs } from '../../src/alarm-rules';
import {
  addMonthsMs,
  addYearsMs,
  certificateAlerts,
  certificateConditionAt,
  certificateProblem,
  certificateTermsProblem,
  lastOnJobMs,
  nextReviewProblem,
  offJobProblem,
  reviewWindowProblem,
  workerCertificateProblems,
} from '../../src/certificate-rules';
import { LedgerError } from '../../src/errors';
import { dailyRetestDue, evaluateGasReading, findStartingTest, isFreshPass, monitoringDueAt, needsRetestAfterInterruption } from '../../src/gas-test-rules';
import { gateCheckPassed, workersWithoutRecentPass } from '../../src/gate-rules';
import { canonicalJson } from '../../src/json';
import { assertCanStart, TRANSITIONS } from '../../src/permit-state';
import { findSimopsConflicts, ruleConflicts, type SimopsPermit } from '../../src/simops';
import { DEFAULT_POLICY, DEFAULT_TEMPLATES, defaultTemplate } from '../../src/templates';
import { checkPlannedWindow, computeValidity, effectiveLevel, isExpiredAt } from '../../src/validity';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T = Date.parse('2026-06-01T08:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function code(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    expect(e).to.be.instanceOf(LedgerError);
    return (e as LedgerError).code;
  }
}

function template(type: string, level: string) {
  const t = defaultTemplate(type as never, level);
  if (t === undefined) throw new Error(`no template ${type}/${level}`);
  return t;
}

describe('rules: maximum validity per type and level', () => {
  const cases: [string, string, number][] = [
    ['hot_work', 'special', 8 * HOUR],
    ['hot_work', '1', 8 * HOUR],
    ['hot_work', '2', 72 * HOUR],
    ['confined_space', 'single', 24 * HOUR],
    ['work_at_height', 'I', 7 * DAY],
    ['work_at_height', 'IV', 7 * DAY],
    ['temporary_electricity', 'single', 15 * DAY],
  ];
  for (const [type, level, max] of cases) {
    it(`${type} ${level}: exactly ${max / HOUR} h passes, 1 s more is a RULE_VIOLATION`, () => {
      const maxMin = template(type, level).maxValidityMinutes;
      expect(maxMin * MIN).to.equal(max);
      expect(code(() => checkPlannedWindow(iso(T + HOUR), iso(T + HOUR + max), maxMin, T))).to.equal(null);
      expect(code(() => checkPlannedWindow(iso(T + HOUR), iso(T + HOUR + max + 1000), maxMin, T))).to.equal('RULE_VIOLATION');
    });
  }
  it('an empty or reversed window is VALIDATION_FAILED; a window already over is EXPIRED', () => {
    expect(code(() => checkPlannedWindow(iso(T + HOUR), iso(T + HOUR), 480, T))).to.equal('VALIDATION_FAILED');
    expect(code(() => checkPlannedWindow(iso(T - 2 * HOUR), iso(T), 480, T))).to.equal('EXPIRED');
    expect(code(() => checkPlannedWindow(iso(T - 2 * HOUR), iso(T + 1), 480, T))).to.equal(null);
  });
  it('validity starts at issue and ends at the earliest of planned end, issue + max, served permit end', () => {
    expect(computeValidity(T, iso(T + 9 * HOUR), 480, null)).to.deep.equal({ validFrom: T, validUntil: T + 8 * HOUR });
    expect(computeValidity(T, iso(T + 5 * HOUR), 480, null)).to.deep.equal({ validFrom: T, validUntil: T + 5 * HOUR });
    expect(computeValidity(T, iso(T + 10 * DAY), 15 * 24 * 60, iso(T + 2 * DAY)).validUntil).to.equal(T + 2 * DAY);
  });
  it('a permit reads as expired from the last millisecond of validity on, but completed/closed ones never do', () => {
    const p = { status: 'active' as const, validUntil: iso(T + 8 * HOUR), plannedEnd: iso(T + 9 * HOUR) };
    expect(isExpiredAt(p, T + 8 * HOUR - 1)).to.equal(false);
    expect(isExpiredAt(p, T + 8 * HOUR)).to.equal(true);
    expect(isExpiredAt({ ...p, status: 'completed' }, T + 9 * HOUR)).to.equal(false);
    expect(isExpiredAt({ status: 'applied', validUntil: null, plannedEnd: iso(T) }, T)).to.equal(true);
  });
  it('hot work is raised one level at night and on holidays; work at height under hazard factors', () => {
    expect(effectiveLevel('hot_work', '2', true)).to.equal('1');
    expect(effectiveLevel('hot_work', '1', true)).to.equal('special');
    expect(effectiveLevel('hot_work', 'special', true)).to.equal('special');
    expect(effectiveLevel('hot_work', '2', false)).to.equal('2');
    expect(effectiveLevel('work_at_height', 'I', true)).to.equal('I');
    expect(effectiveLevel('work_at_height', 'I', false, true)).to.equal('II');
    expect(effectiveLevel('work_at_height', 'III', false, true)).to.equal('IV');
    expect(effectiveLevel('work_at_height', 'IV', false, true)).to.equal('IV');
    expect(effectiveLevel('hot_work', '2', false, true)).to.equal('2');
  });
});

describe('rules: default templates follow DOMAIN.md', () => {
  it('has a template for every operation type and level', () => {
    expect(DEFAULT_TEMPLATES).to.have.length(15);
  });
  it('approver level per GB 30871 Table B.1', () => {
    const approvalDept = (t: string, l: string) => template(t, l).signOffSteps.find((s) => s.kind === 'approval')?.department;
    expect(approvalDept('hot_work', 'special')).to.equal('leadership');
    expect(approvalDept('hot_work', '1')).to.equal('safety');
    expect(approvalDept('hot_work', '2')).to.equal('$work_unit');
    expect(approvalDept('confined_space', 'single')).to.equal('$work_unit');
    expect(approvalDept('work_at_height', 'II')).to.equal('specialist');
    expect(approvalDept('work_at_height', 'IV')).to.equal('plant_head');
    expect(approvalDept('lifting', '1')).to.equal('plant_head');
    expect(approvalDept('lifting', '3')).to.equal('specialist');
    expect(approvalDept('temporary_electricity', 'single')).to.equal('power_supply');
  });
  it('excavation needs seven co-signs before the specialist approval; road breaking fire and safety', () => {
    const ex = template('excavation', 'single').signOffSteps;
    expect(ex.filter((s) => s.kind === 'cosign').map((s) => s.department)).to.deep.equal(['water', 'power', 'steam', 'process', 'equipment', 'fire', 'safety']);
    expect(ex[ex.length - 1]?.kind).to.equal('approval');
    expect(template('road_breaking', 'single').signOffSteps.map((s) => s.department)).to.deep.equal(['fire', 'safety', 'specialist']);
  });
  it('gas tests: hot work and confined space, 30 min, retest after 30 (special/1) or 60 (2, confined) min', () => {
    expect(template('hot_work', 'special').gasTest.retestAfterInterruptionMinutes).to.equal(30);
    expect(template('hot_work', '1').gasTest.retestAfterInterruptionMinutes).to.equal(30);
    expect(template('hot_work', '2').gasTest.retestAfterInterruptionMinutes).to.equal(60);
    expect(template('confined_space', 'single').gasTest).to.include({
      required: true,
      maxAgeMinutes: 30,
      retestAfterInterruptionMinutes: 60,
      continuousMonitoringIntervalMinutes: 120,
    });
    expect(template('work_at_height', 'I').gasTest.required).to.equal(false);
    expect(template('hot_work', 'special').signOffSteps[0]?.distinctSigners).to.equal(2);
  });
  it('certificate categories: welders for hot work, electricians for temporary electricity', () => {
    expect(template('hot_work', '2').requiredCertificateCategories).to.deep.equal(['welding_cutting']);
    expect(template('temporary_electricity', 'single').requiredCertificateCategories).to.deep.equal(['electrician']);
  });
});

describe('rules: gas analysis', () => {
  const hot: GasTestRule = template('hot_work', '2').gasTest;
  const cs: GasTestRule = template('confined_space', 'single').gasTest;
  const r = (o: Partial<Parameters<typeof evaluateGasReading>[1]> = {}) => ({
    lelClass: 'lel_ge_4' as const,
    flammableVolPct: 0,
    oxygenVolPct: null,
    toxic: [],
    ...o,
  });
  it('LEL ≥ 4 %: 0.5 % vol passes, 0.51 % vol fails', () => {
    expect(evaluateGasReading(hot, r({ flammableVolPct: 0.5 })).passed).to.equal(true);
    expect(evaluateGasReading(hot, r({ flammableVolPct: 0.51 })).passed).to.equal(false);
  });
  it('LEL < 4 %: 0.2 % vol passes, 0.21 % vol fails', () => {
    expect(evaluateGasReading(hot, r({ lelClass: 'lel_lt_4', flammableVolPct: 0.2 })).passed).to.equal(true);
    const f = evaluateGasReading(hot, r({ lelClass: 'lel_lt_4', flammableVolPct: 0.21 }));
    expect(f.passed).to.equal(false);
    expect(f.failures[0]).to.contain('0.2 % vol');
  });
  it('confined space O2: 19.5 and 21 pass; 19.4, 21.1 fail; above 23.5 names enrichment; missing O2 fails', () => {
    expect(evaluateGasReading(cs, r({ oxygenVolPct: 19.5 })).passed).to.equal(true);
    expect(evaluateGasReading(cs, r({ oxygenVolPct: 21 })).passed).to.equal(true);
    expect(evaluateGasReading(cs, r({ oxygenVolPct: 19.4 })).passed).to.equal(false);
    expect(evaluateGasReading(cs, r({ oxygenVolPct: 21.1 })).passed).to.equal(false);
    expect(evaluateGasReading(cs, r({ oxygenVolPct: 23.5 })).failures[0]).to.contain('outside');
    expect(evaluateGasReading(cs, r({ oxygenVolPct: 23.6 })).failures[0]).to.contain('absolute maximum 23.5');
    expect(evaluateGasReading(cs, r({ oxygenVolPct: null })).passed).to.equal(false);
    expect(evaluateGasReading(hot, r({ oxygenVolPct: null })).passed).to.equal(true);
  });
  it('toxic gases must be below the exposure limit', () => {
    expect(evaluateGasReading(cs, r({ oxygenVolPct: 20.9, toxic: [{ substance: 'H2S', measured: 9.9, limit: 10, unit: 'mg/m3' }] })).passed).to.equal(true);
    expect(evaluateGasReading(cs, r({ oxygenVolPct: 20.9, toxic: [{ substance: 'H2S', measured: 10, limit: 10, unit: 'mg/m3' }] })).passed).to.equal(false);
  });
  it('a sample counts at start when at most 30 min old: 30:00 yes, 30:00.001 no, future no, failed no', () => {
    const t = { passed: true, sampleTakenAt: iso(T) };
    expect(isFreshPass(t, T + 30 * MIN, 30)).to.equal(true);
    expect(isFreshPass(t, T + 30 * MIN + 1, 30)).to.equal(false);
    expect(isFreshPass(t, T - 1, 30)).to.equal(false);
    expect(isFreshPass({ ...t, passed: false }, T + MIN, 30)).to.equal(false);
  });
  it('re-test after interruption: strictly longer than 30 min (special/1) or 60 min (2, confined)', () => {
    expect(needsRetestAfterInterruption(30 * MIN, template('hot_work', '1').gasTest)).to.equal(false);
    expect(needsRetestAfterInterruption(30 * MIN + 1, template('hot_work', '1').gasTest)).to.equal(true);
    expect(needsRetestAfterInterruption(60 * MIN, cs)).to.equal(false);
    expect(needsRetestAfterInterruption(60 * MIN + 1, cs)).to.equal(true);
    expect(needsRetestAfterInterruption(10 * HOUR, template('work_at_height', 'I').gasTest)).to.equal(false);
  });
  it('daily re-test: the newest passing sample may be exactly 24 h old, not 24 h + 1 ms', () => {
    const tests = [
      { passed: true, sampleTakenAt: iso(T) },
      { passed: false, sampleTakenAt: iso(T + HOUR) },
    ];
    expect(dailyRetestDue(tests, T + DAY, hot)).to.equal(false);
    expect(dailyRetestDue(tests, T + DAY + 1, hot)).to.equal(true);
    expect(dailyRetestDue([], T, hot)).to.equal(true);
    expect(dailyRetestDue([], T, template('work_at_height', 'I').gasTest)).to.equal(false);
  });
  it('continuous monitoring (confined space, special hot work): next reading due 2 h after the last', () => {
    expect(monitoringDueAt([{ passed: true, sampleTakenAt: iso(T) }], cs)).to.equal(T + 2 * HOUR);
    expect(monitoringDueAt([{ passed: true, sampleTakenAt: iso(T) }], hot)).to.equal(null);
  });
  it('the starting test must be taken after the suspension when one is required', () => {
    const tests = [{ testId: 'a', passed: true, sampleTakenAt: iso(T) }] as never[];
    expect(findStartingTest(tests, T + 10 * MIN, hot)).to.not.equal(undefined);
    expect(findStartingTest(tests, T + 10 * MIN, hot, T + 1)).to.equal(undefined);
  });
});

function cert(o: Partial<CertificateRecord> = {}): CertificateRecord {
  return {
    docType: 'certificate',
    certificateId: 'c1',
    workerId: 'w',
    category: 'welding_cutting',
    item: 'x',
    authority: 'y',
    validFrom: '2024-01-01T00:00:00.000Z',
    validUntil: '2030-01-01T00:00:00.000Z',
    reviewDue: '2027-01-01T00:00:00.000Z',
    status: 'valid',
    scanSha256: 'a'.repeat(64),
    addedBy: null as never,
    addedAt: '',
    reviews: [],
    practicalExams: [],
    statusHistory: [],
    ...o,
  };
}

describe('rules: six months off the job', () => {
  const holder = (lastWorkedAt: string | null) => ({ registeredAt: '2026-01-31T08:00:00.000Z', lastWorkedAt });
  const c = cert({ validFrom: '2025-01-01T00:00:00.000Z' });
  it('counts calendar months from the latest of registration, last completed permit, certificate start and practical exam', () => {
    expect(addMonthsMs(Date.parse('2026-01-31T08:00:00.000Z'), 6)).to.equal(Date.parse('2026-07-31T08:00:00.000Z'));
    expect(offJobProblem(holder(null), c, Date.parse('2026-07-31T07:59:59.999Z'))).to.equal(null);
    expect(offJobProblem(holder(null), c, Date.parse('2026-07-31T08:00:00.000Z'))).to.contain('off the job since 2026-01-31T08:00:00.000Z');
    expect(offJobProblem(holder('2026-03-01T00:00:00.000Z'), c, Date.parse('2026-08-31T23:59:59.999Z'))).to.equal(null);
    expect(offJobProblem(holder('2026-03-01T00:00:00.000Z'), c, Date.parse('2026-09-01T00:00:00.000Z'))).to.contain('2026-03-01');
    const examined = cert({
      validFrom: '2025-01-01T00:00:00.000Z',
      practicalExams: [{ examinedAt: '2026-05-10T00:00:00.000Z', actor: null as never, at: '' }],
    });
    expect(offJobProblem(holder(null), examined, Date.parse('2026-11-09T23:59:59.999Z'))).to.equal(null);
    expect(lastOnJobMs(holder(null), cert({ validFrom: '2026-04-01T00:00:00.000Z' }))).to.equal(Date.parse('2026-04-01T00:00:00.000Z'));
  });
  it('is part of the certificate check only when the holder is known', () => {
    const at = Date.parse('2026-09-01T00:00:00.000Z');
    expect(certificateProblem(c, 'welding_cutting', at, at + HOUR, at)).to.equal(null);
    expect(certificateProblem(c, 'welding_cutting', at, at + HOUR, at, holder(null))).to.contain('practical exam');
  });
});

describe('rules: certificates', () => {
  const start = Date.parse('2026-06-01T09:00:00Z');
  const end = Date.parse('2026-06-01T17:00:00Z');
  it('matching category valid over the whole window qualifies', () => {
    expect(workerCertificateProblems([cert()], ['welding_cutting'], start, end, T)).to.deep.equal([]);
  });
  it('wrong category, no certificate, suspended or revoked do not qualify', () => {
    expect(workerCertificateProblems([cert({ category: 'electrician' })], ['welding_cutting'], start, end, T)[0]).to.contain('no welding_cutting');
    expect(workerCertificateProblems([], ['electrician'], start, end, T)).to.have.length(1);
    expect(workerCertificateProblems([cert({ status: 'suspended' })], ['welding_cutting'], start, end, T)[0]).to.contain('suspended');
    expect(workerCertificateProblems([cert({ status: 'revoked' })], ['welding_cutting'], start, end, T)[0]).to.contain('revoked');
  });
  it('validity must cover the whole window: ending exactly at the window end passes, 1 ms earlier fails', () => {
    expect(workerCertificateProblems([cert({ validUntil: iso(end), reviewDue: iso(end) })], ['welding_cutting'], start, end, T)).to.deep.equal([]);
    expect(workerCertificateProblems([cert({ validUntil: iso(end - 1), reviewDue: iso(end - 1) })], ['welding_cutting'], start, end, T)).to.have.length(1);
    expect(workerCertificateProblems([cert({ validFrom: iso(start) })], ['welding_cutting'], start, end, T)).to.deep.equal([]);
    expect(workerCertificateProblems([cert({ validFrom: iso(start + 1) })], ['welding_cutting'], start, end, T)).to.have.length(1);
  });
  it('a review overdue now, or falling due inside the window, disqualifies', () => {
    expect(workerCertificateProblems([cert({ reviewDue: iso(T - 1) })], ['welding_cutting'], start, end, T)[0]).to.contain('overdue');
    expect(workerCertificateProblems([cert({ reviewDue: iso(end - 1) })], ['welding_cutting'], start, end, T)[0]).to.contain('before the window ends');
  });
  it('review window: opens exactly 60 days before the due date and closes at the due date', () => {
    const due = Date.parse('2027-01-01T00:00:00Z');
    const c = cert();
    expect(reviewWindowProblem(c, due - 60 * DAY - 1)).to.contain('opens');
    expect(reviewWindowProblem(c, due - 60 * DAY)).to.equal(null);
    expect(reviewWindowProblem(c, due)).to.equal(null);
    expect(reviewWindowProblem(c, due + 1)).to.contain('missed');
  });
  it('condition over time: not yet valid, valid, review overdue, expired', () => {
    const c = cert();
    expect(certificateConditionAt(c, Date.parse('2023-12-31T23:59:59Z'))).to.equal('not_yet_valid');
    expect(certificateConditionAt(c, Date.parse('2027-01-01T00:00:00Z'))).to.equal('valid');
    expect(certificateConditionAt(c, Date.parse('2027-01-01T00:00:00.001Z'))).to.equal('review_overdue');
    expect(certificateConditionAt(c, Date.parse('2030-01-01T00:00:00Z'))).to.equal('expired');
  });
  it('terms: valid at most 6 calendar years, reviews at most 3 years apart', () => {
    const from = Date.parse('2024-02-29T00:00:00Z');
    expect(addYearsMs(from, 6)).to.equal(Date.parse('2030-03-01T00:00:00Z'));
    expect(certificateTermsProblem(from, addYearsMs(from, 6))).to.equal(null);
    expect(certificateTermsProblem(from, addYearsMs(from, 6) + 1)).to.contain('6 years');
    const due = Date.parse('2027-01-01T00:00:00Z');
    expect(nextReviewProblem(due, Date.parse('2030-01-01T00:00:00Z'))).to.equal(null);
    expect(nextReviewProblem(due, Date.parse('2030-01-01T00:00:00.001Z'))).to.contain('3 years');
  });
  it('alerts: expiring within 60 days is inclusive', () => {
    const until = Date.parse('2030-01-01T00:00:00Z');
    expect(certificateAlerts(cert({ reviewDue: iso(until) }), until - 60 * DAY).expiresWithin60Days).to.equal(true);
    expect(certificateAlerts(cert({ reviewDue: iso(until) }), until - 60 * DAY - 1).expiresWithin60Days).to.equal(false);
  });
});

describe('rules: gate checks', () => {
  const methods = {
    qr: { passed: true },
    face: { scoreBp: 9000, deviceId: 'g', templateSha256: null, passed: true },
    certificate: { certificateIds: [], passed: true, reason: 'ok' },
    health: { passed: true },
  };
  it('passes only when every method passes', () => {
    expect(gateCheckPassed(methods)).to.equal(true);
    for (const m of ['qr', 'face', 'certificate', 'health'] as const) {
      expect(gateCheckPassed({ ...methods, [m]: { ...methods[m], passed: false } })).to.equal(false);
    }
  });
  it('a pass counts within the window inclusive: 60 min yes, 60 min + 1 ms no', () => {
    const check = (w: string, at: number, passed = true) => ({ workerId: w, at: iso(at), passed }) as GateCheckRecord;
    expect(workersWithoutRecentPass(['a', 'b'], [check('a', T), check('b', T)], T + 60 * MIN, 60)).to.deep.equal([]);
    expect(workersWithoutRecentPass(['a', 'b'], [check('a', T), check('b', T - 1)], T + 60 * MIN, 60)).to.deep.equal(['b']);
    expect(workersWithoutRecentPass(['a'], [check('a', T, false)], T, 60)).to.deep.equal(['a']);
  });
});

describe('rules: SIMOPS', () => {
  const p = (no: string, o: Partial<SimopsPermit> & { loc?: Partial<PermitRecord['location']> } = {}): SimopsPermit => ({
    permitNo: no,
    operationType: o.operationType ?? 'hot_work',
    activities: o.activities ?? [],
    location: { siteId: 's', zoneId: 'z1', coordinates: { x: 0, y: 0 }, fireExplosionZone: false, outdoor: true, dikeId: null, pipelineId: null, ...o.loc },
  });
  const rules: SimopsRule[] = DEFAULT_POLICY.simopsRules;
  const rule = (id: string) => rules.find((r) => r.ruleId === id) as SimopsRule;
  const hot = p('H', { loc: { zoneId: 'z1' } });
  it('flammable gas release within 30 m conflicts; 30.01 m does not', () => {
    expect(
      ruleConflicts(
        rule('hot-vs-flammable-gas-30m'),
        hot,
        p('G', { operationType: 'blind_plate', activities: ['flammable_gas_release'], loc: { zoneId: 'z2', coordinates: { x: 30, y: 0 } } }),
      ),
    ).to.equal(true);
    expect(
      ruleConflicts(
        rule('hot-vs-flammable-gas-30m'),
        hot,
        p('G', { operationType: 'blind_plate', activities: ['flammable_gas_release'], loc: { zoneId: 'z2', coordinates: { x: 30.01, y: 0 } } }),
      ),
    ).to.equal(false);
  });
  it('flammable liquid 15 m, painting 10 m', () => {
    const liquid = (x: number) =>
      p('L', { operationType: 'excavation', activities: ['flammable_liquid_release'], loc: { zoneId: 'z2', coordinates: { x, y: 0 } } });
    expect(findSimopsConflicts(hot, [liquid(15)], rules)).to.have.length(1);
    expect(findSimopsConflicts(hot, [liquid(15.5)], rules)).to.have.length(0);
    const paint = (x: number) => p('P', { operationType: 'work_at_height', activities: ['painting'], loc: { zoneId: 'z2', coordinates: { x: 0, y: x } } });
    expect(findSimopsConflicts(hot, [paint(10)], rules)).to.have.length(1);
    expect(findSimopsConflicts(hot, [paint(10.1)], rules)).to.have.length(0);
  });
  it('same zone conflicts regardless of distance; unrelated work does not', () => {
    expect(findSimopsConflicts(hot, [p('P', { operationType: 'confined_space', activities: ['painting'], loc: { coordinates: null } })], rules)).to.have.length(
      1,
    );
    expect(findSimopsConflicts(hot, [p('X', { operationType: 'work_at_height' })], rules)).to.have.length(0);
  });
  it('tank draining conflicts only inside the same dike', () => {
    const drain = (dikeId: string | null) =>
      p('D', { operationType: 'blind_plate', activities: ['tank_draining'], loc: { zoneId: 'z9', coordinates: { x: 1, y: 1 }, dikeId } });
    const hotDike = p('H', { loc: { dikeId: 'dike-1' } });
    expect(findSimopsConflicts(hotDike, [drain('dike-1')], rules).map((c) => c.ruleIds)).to.deep.equal([['hot-vs-tank-draining-same-dike']]);
    expect(findSimopsConflicts(hotDike, [drain('dike-2')], rules)).to.have.length(0);
  });
  it('blind plate within 30 m only in a fire/explosion zone; two blind plates on one pipeline', () => {
    const bp = (fire: boolean) =>
      p('B', { operationType: 'blind_plate', loc: { zoneId: 'z2', coordinates: { x: 20, y: 0 }, fireExplosionZone: fire, outdoor: true } });
    expect(findSimopsConflicts(hot, [bp(true)], rules)).to.have.length(1);
    expect(findSimopsConflicts(hot, [bp(false)], rules)).to.have.length(0);
    const line = (no: string, pipe: string) => p(no, { operationType: 'blind_plate', loc: { zoneId: no, coordinates: null, pipelineId: pipe } });
    expect(findSimopsConflicts(line('B1', 'L-1'), [line('B2', 'L-1')], rules)).to.have.length(1);
    expect(findSimopsConflicts(line('B1', 'L-1'), [line('B2', 'L-2')], rules)).to.have.length(0);
  });
  it('conflicts are symmetric and never cross sites', () => {
    const gas = p('G', { operationType: 'blind_plate', activities: ['flammable_gas_release'], loc: { zoneId: 'z2', coordinates: { x: 5, y: 0 } } });
    expect(findSimopsConflicts(gas, [hot], rules)).to.have.length(1);
    expect(findSimopsConflicts(gas, [p('H', { loc: { siteId: 'other' } })], rules)).to.have.length(0);
  });
});

describe('rules: alarms, state machine, canonical JSON', () => {
  it('grade 1 is the most severe: with threshold 2, grades 1 and 2 suspend, 3 and 4 do not', () => {
    expect([1, 2, 3, 4].map((g) => alarmSuspendsPermits(g, 2))).to.deep.equal([true, true, false, false]);
    expect(responseMs(iso(T), T + 38_000)).to.equal(38_000);
  });
  it('wind stops outdoor hot work and work at height at force 5, outdoor lifting only at force 6, indoor work never', () => {
    const permit = (operationType: PermitRecord['operationType'], outdoor: boolean | null) =>
      ({
        operationType,
        location: { siteId: 's', zoneId: 'z', coordinates: null, fireExplosionZone: false, outdoor, dikeId: null, pipelineId: null },
      }) as const;
    const f5 = { grade: 3, kind: 'wind_at_or_above_force_5' };
    const f6 = { grade: 3, kind: 'wind_at_or_above_force_6' };
    const stop = (a: { grade: number; kind: string }, op: PermitRecord['operationType'], outdoor: boolean | null) => alarmStopReason(a, permit(op, outdoor), 2);
    expect([stop(f5, 'hot_work', true), stop(f5, 'work_at_height', true), stop(f5, 'lifting', true)]).to.deep.equal(['weather', 'weather', null]);
    expect([stop(f6, 'hot_work', true), stop(f6, 'work_at_height', true), stop(f6, 'lifting', true)]).to.deep.equal(['weather', 'weather', 'weather']);
    expect([stop(f6, 'hot_work', false), stop(f6, 'confined_space', true), stop(f6, 'excavation', null)]).to.deep.equal([null, null, null]);
    // a severe wind alarm stops everything in the area, as any severe alarm does
    expect(stop({ ...f5, grade: 2 }, 'confined_space', false)).to.equal('alarm');
    expect(stop({ grade: 3, kind: 'risk_score' }, 'hot_work', true)).to.equal(null);
  });
  it('every non-apply action has a from-list; terminal states allow nothing but reads', () => {
    for (const status of ['closed', 'rejected', 'cancelled', 'revoked', 'expired'] as const) {
      for (const action of Object.keys(TRANSITIONS)) {
        if (action === 'apply') continue;
        expect(
          code(() => assertCanStart(action as never, status)),
          `${action} from ${status}`,
        ).to.equal('INVALID_STATE');
      }
    }
    expect(code(() => assertCanStart('resume', 'suspended'))).to.equal(null);
    expect(code(() => assertCanStart('activate', 'issued'))).to.equal('INVALID_STATE');
  });
  it('sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).to.equal('{"a":{"d":[{"y":2,"z":1}]},"b":1}');
  });
});
