import {
  type Actor,
  type AlarmRecord,
  type GasTestRecord,
  type InvestigationFlag,
  LIVE_PERMIT_STATUSES,
  type PermitAction,
  type PermitRecord,
  type PermitStatus,
  type TxData,
  type TxName,
} from '@compliance-ledger/schema';
import { Context, Info } from 'fabric-contract-api';
import { alarmStopReason } from './alarm-rules';
import { parseIso, toIso, txTimeIso, txTimeMs } from './clock';
import { assertCrewQualified, listGateChecks, loadActiveWorker, loadWorker, workerKey } from './credential-store';
import { AlreadyExistsError, ExpiredError, ForbiddenError, InvalidStateError, NotFoundError, RuleViolationError, ValidationError } from './errors';
import { dailyRetestDue, evaluateGasReading, findStartingTest, lastPassingSampleMs, monitoringDueAt, needsRetestBeforeResuming } from './gas-test-rules';
import { workersWithoutRecentPass } from './gate-rules';
import { canonicalJson } from './json';
import { LedgerContract } from './ledger-contract';
import { assertMayAccess, bindToOwner, mayAccess } from './ownership';
import { assertCanStart, assertSignOffPrecondition, TRANSITIONS } from './permit-state';
import {
  emitPermitEvent,
  listDue,
  listLivePermits,
  listSimopsNeighbours,
  loadPermit,
  openAlarms,
  permitAnswer,
  permitKey,
  permitOwnerMsp,
  recordStep,
  savePermit,
} from './permit-store';
import { checkSignOff, currentStep } from './signoff-rules';
import { findSimopsConflicts } from './simops';
import { exists, getJson, KEYS, key, listByPartialKey, prefetch, putJson } from './store';
import { loadPolicy, loadTemplate, policyLatestKey, templateLatestKey } from './template-contract';
import { isKnownLevel } from './templates';
import { Evaluate, enter, guarded, putAndEmit, run, Submit } from './tx';
import { assertNotExpired, checkPlannedWindow, computeValidity, effectiveLevel, isExpiredAt, maxValidityMinutesFor, permitEndMs } from './validity';
import { nightOrHolidayReason } from './work-calendar';

/** Transactions whose input names a permit. */
type PermitTx = { [K in TxName]: TxData<K> extends { permitNo: string } ? (K extends `permit:${string}` ? K : never) : never }[TxName];

interface Begun<T extends TxName> {
  actor: Actor;
  data: TxData<T>;
  permit: PermitRecord;
  now: number;
}

/**
 * The keys permit:Apply reads on its way to success, for one request to the peer before it starts:
 * the ledger policy's pointer, the permit number (to refuse a duplicate), every person on the crew,
 * the related and served permits, and the template's pointer when the level is already certain (a
 * hot-work permit's can still rise at night by the site calendar, which the policy holds).
 */
function applyReads(ctx: Context, data: TxData<'permit:Apply'>): string[] {
  const keys = [policyLatestKey(ctx), permitKey(ctx, data.permitNo)];
  for (const w of [...data.workers, data.guardianId, data.personInChargeId]) keys.push(workerKey(ctx, w));
  for (const r of data.relatedPermitNos) keys.push(permitKey(ctx, r));
  if (data.servesPermitNo !== null && data.operationType === 'temporary_electricity') keys.push(permitKey(ctx, data.servesPermitNo));
  const level = effectiveLevel(data.operationType, data.level, data.nightOrHoliday, data.heightHazardFactors);
  if (data.operationType !== 'hot_work' || level === effectiveLevel(data.operationType, data.level, true, data.heightHazardFactors)) {
    keys.push(templateLatestKey(ctx, data.operationType, level));
  }
  return keys;
}

/**
 * The permit lifecycle. Each step is its own transaction that records who and when; the order
 * is enforced by permit-state.ts and the rules by the pure functions it calls. All checks run
 * before the first write, so a refused step leaves the ledger untouched.
 */
@Info({ title: 'Permits', description: 'Special-operation permits (GB 30871) from application to close' })
export class PermitContract extends LedgerContract {
  constructor() {
    super('permit');
  }

  /** Authorizes, parses, loads the permit, refuses expired permits and out-of-order steps. */
  private async begin<T extends PermitTx>(ctx: Context, tx: T, input: string, action: PermitAction | null): Promise<Begun<T>> {
    const { actor, data } = enter(ctx, tx, input);
    const permitNo = (data as { permitNo: string }).permitNo;
    const permit = await loadPermit(ctx, permitNo);
    assertMayAccess(actor, permitOwnerMsp(permit), `permit ${permitNo}`);
    const now = txTimeMs(ctx);
    if (action !== null) {
      assertNotExpired(permit, now);
      if (action !== 'sign_off') assertCanStart(action, permit.status);
    }
    return { actor, data, permit, now };
  }

  /** A permit transaction from start to end: `begin`, then the body, every failure a coded LedgerError. */
  private step<T extends PermitTx>(ctx: Context, tx: T, input: string, action: PermitAction | null, body: (b: Begun<T>) => Promise<string>): Promise<string> {
    return guarded(async () => body(await this.begin(ctx, tx, input, action)));
  }

  private async commit(ctx: Context, action: PermitAction, before: PermitRecord, after: PermitRecord): Promise<string> {
    await savePermit(ctx, before.status, after);
    emitPermitEvent(ctx, action, before.status, after);
    return permitAnswer(ctx, after);
  }

  private async transition(ctx: Context, action: PermitAction, b: { actor: Actor; permit: PermitRecord }, patch: Partial<PermitRecord> = {}): Promise<string> {
    const to = TRANSITIONS[action].to;
    if (to === null) throw new InvalidStateError(`action ${action} has no single target status`);
    const after = recordStep(ctx, { ...b.permit, ...patch }, action, to, b.actor);
    return this.commit(ctx, action, b.permit, after);
  }

  @Submit()
  async Apply(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'permit:Apply', input, async ({ actor, data }) => {
      const now = txTimeMs(ctx);
      if (!isKnownLevel(data.operationType, data.level)) {
        throw new ValidationError(`level ${data.level} does not exist for ${data.operationType}`);
      }
      await prefetch(ctx, applyReads(ctx, data));
      // With a site calendar the ledger itself finds night, rest days and holidays; the flag can only add.
      const calendar = (await loadPolicy(ctx)).workCalendar ?? null;
      const fromCalendar = data.operationType === 'hot_work' ? nightOrHolidayReason(parseIso(data.plannedStart), parseIso(data.plannedEnd), calendar) : null;
      const nightOrHoliday = data.nightOrHoliday || fromCalendar !== null;
      const level = effectiveLevel(data.operationType, data.level, nightOrHoliday, data.heightHazardFactors);
      if (await exists(ctx, permitKey(ctx, data.permitNo))) {
        throw new AlreadyExistsError(`permit ${data.permitNo} already exists; permit numbers are unique, and a change needs a new permit`);
      }
      const template = await loadTemplate(ctx, data.operationType, level);
      const maxValidity = maxValidityMinutesFor(template, data.specialCaseReason);
      const special = template.specialCaseMaxValidityMinutes ?? null;
      const hint =
        data.specialCaseReason === null && special !== null && special > template.maxValidityMinutes
          ? `, or flag it as a special case (specialCaseReason) for up to ${special / 1440} d`
          : '';
      checkPlannedWindow(data.plannedStart, data.plannedEnd, maxValidity, now, fromCalendar, hint);
      if (data.workers.includes(data.guardianId)) throw new RuleViolationError('the guardian cannot also be a worker on the permit; name another guardian');
      const hazardIds = new Set(data.hazards.map((h) => h.hazardId));
      const orphan = data.measures.find((m) => m.hazardId !== null && !hazardIds.has(m.hazardId));
      if (orphan !== undefined) throw new ValidationError(`measure ${orphan.measureId} refers to unknown hazard ${orphan.hazardId}`);
      for (const w of new Set([...data.workers, data.guardianId, data.personInChargeId])) {
        const worker = await loadActiveWorker(ctx, w);
        assertMayAccess(actor, worker.registeredBy.mspId, `worker ${w.slice(0, 12)}…`);
      }
      await assertCrewQualified(ctx, data, template, parseIso(data.plannedStart), parseIso(data.plannedEnd), now);
      for (const r of data.relatedPermitNos) {
        const related = await getJson<PermitRecord>(ctx, permitKey(ctx, r));
        if (related === undefined || !mayAccess(actor, permitOwnerMsp(related))) throw new NotFoundError(`related permit ${r} does not exist`);
      }
      if (data.servesPermitNo !== null) {
        if (data.operationType !== 'temporary_electricity') throw new ValidationError('servesPermitNo is only for temporary electricity permits');
        const served = await getJson<PermitRecord>(ctx, permitKey(ctx, data.servesPermitNo));
        if (served === undefined || !mayAccess(actor, permitOwnerMsp(served))) throw new NotFoundError(`served permit ${data.servesPermitNo} does not exist`);
      }
      const base: PermitRecord = {
        docType: 'permit',
        permitNo: data.permitNo,
        operationType: data.operationType,
        level,
        requestedLevel: data.level,
        nightOrHoliday,
        nightOrHolidayFromCalendar: fromCalendar,
        heightHazardFactors: data.heightHazardFactors,
        workHeightMetres: data.workHeightMetres,
        liftLoadTonnes: data.liftLoadTonnes,
        location: data.location,
        workUnit: data.workUnit,
        description: data.description,
        plannedStart: toIso(parseIso(data.plannedStart)),
        plannedEnd: toIso(parseIso(data.plannedEnd)),
        workers: data.workers,
        personInChargeId: data.personInChargeId,
        guardianId: data.guardianId,
        hazards: data.hazards,
        measures: data.measures,
        activities: data.activities,
        relatedPermitNos: data.relatedPermitNos,
        servesPermitNo: data.servesPermitNo,
        specialCaseReason: data.specialCaseReason,
        templateVersion: template.version,
        template,
        status: 'applied',
        confirmations: [],
        gasTests: [],
        signOffs: [],
        briefedWorkerIds: [],
        validFrom: null,
        validUntil: null,
        suspension: null,
        history: [],
      };
      const permit = recordStep(ctx, base, 'apply', 'applied', actor);
      await savePermit(ctx, null, permit);
      await bindToOwner(ctx, permitKey(ctx, permit.permitNo), actor.mspId);
      emitPermitEvent(ctx, 'apply', null, permit);
      return permitAnswer(ctx, permit);
    });
  }

  @Submit()
  async AssessRisk(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:AssessRisk', input, 'assess_risk', async (b) => {
      const measureIds = b.permit.measures.map((m) => m.measureId);
      const confirmed = b.data.confirmations.map((c) => c.measureId);
      if (new Set(confirmed).size !== confirmed.length) throw new ValidationError('each measure is confirmed once');
      const unknown = confirmed.filter((m) => !measureIds.includes(m));
      if (unknown.length > 0) throw new ValidationError(`unknown measures: ${unknown.join(', ')}`);
      const missing = measureIds.filter((m) => !confirmed.includes(m));
      if (missing.length > 0) throw new RuleViolationError(`every measure needs a named person's confirmation; missing: ${missing.join(', ')}`);
      for (const c of b.data.confirmations) await loadWorker(ctx, c.confirmedBy);
      return this.transition(ctx, 'assess_risk', b, { confirmations: b.data.confirmations });
    });
  }

  @Submit()
  async RecordGasTest(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:RecordGasTest', input, 'gas_test', async (b) => {
      const d = b.data;
      if (b.permit.gasTests.some((t) => t.testId === d.testId)) throw new AlreadyExistsError(`gas test ${d.testId} is already recorded on this permit`);
      const taken = parseIso(d.sampleTakenAt);
      if (taken > b.now) throw new ValidationError('sampleTakenAt is after the transaction time; a sample cannot be recorded before it is taken');
      const rule = b.permit.template.gasTest;
      const result = evaluateGasReading(rule, d);
      const test: GasTestRecord = {
        testId: d.testId,
        sampleTakenAt: toIso(taken),
        recordedAt: txTimeIso(ctx),
        lelClass: d.lelClass,
        flammableVolPct: d.flammableVolPct,
        oxygenVolPct: d.oxygenVolPct,
        toxic: d.toxic,
        passed: result.passed,
        failures: result.failures,
        analyst: b.actor,
        txId: ctx.stub.getTxID(),
      };
      const to: PermitStatus = b.permit.status === 'risk_assessed' && rule.required && result.passed ? 'gas_tested' : b.permit.status;
      const after = recordStep(ctx, { ...b.permit, gasTests: [...b.permit.gasTests, test] }, 'gas_test', to, b.actor);
      return this.commit(ctx, 'gas_test', b.permit, after);
    });
  }

  @Submit()
  async SignOff(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:SignOff', input, 'sign_off', async (b) => {
      assertSignOffPrecondition(b.permit.status, b.permit.template.gasTest.required);
      checkSignOff(b.permit, b.actor, b.data.stepId, b.data.atSite);
      const signed: PermitRecord = {
        ...b.permit,
        signOffs: [
          ...b.permit.signOffs,
          { stepId: b.data.stepId, actor: b.actor, at: txTimeIso(ctx), txId: ctx.stub.getTxID(), atSite: b.data.atSite, opinion: b.data.opinion },
        ],
      };
      const to: PermitStatus = currentStep(signed) === undefined ? 'signed_off' : 'signing_off';
      return this.commit(ctx, 'sign_off', b.permit, recordStep(ctx, signed, 'sign_off', to, b.actor));
    });
  }

  @Submit()
  async Issue(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:Issue', input, 'issue', async (b) => {
      const p = b.permit;
      if (p.template.gasTest.required && !p.gasTests.some((t) => t.passed)) {
        throw new RuleViolationError('this permit requires a passing gas test before issue');
      }
      await assertCrewQualified(ctx, p, p.template, parseIso(p.plannedStart), parseIso(p.plannedEnd), b.now);
      const policy = await loadPolicy(ctx);
      const neighbours = await listSimopsNeighbours(ctx, p, policy.simopsRules, b.now);
      const conflicts = findSimopsConflicts(p, neighbours, policy.simopsRules);
      if (conflicts.length > 0) {
        throw new RuleViolationError(
          `simultaneous operations conflict: ${conflicts.map((c) => `${c.permitNo} (${c.ruleIds.join(', ')})`).join('; ')}; ` +
            'wait until they end or move the work',
        );
      }
      let servedEnd: string | null = null;
      if (p.servesPermitNo !== null) {
        const served = await loadPermit(ctx, p.servesPermitNo);
        if (!LIVE_PERMIT_STATUSES.includes(served.status) || isExpiredAt(served, b.now)) {
          throw new RuleViolationError(`the served permit ${served.permitNo} is ${served.status}; temporary electricity needs a live permit to serve`);
        }
        servedEnd = toIso(permitEndMs(served));
      }
      const v = computeValidity(b.now, p.plannedEnd, maxValidityMinutesFor(p.template, p.specialCaseReason), servedEnd);
      if (v.validUntil <= b.now) throw new ExpiredError('the validity would end before it starts; apply again with a new window');
      return this.transition(ctx, 'issue', b, { validFrom: toIso(v.validFrom), validUntil: toIso(v.validUntil) });
    });
  }

  @Submit()
  async Brief(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:Brief', input, 'brief', async (b) => {
      const briefed = new Set(b.data.briefedWorkerIds);
      const notOnPermit = [...briefed].filter((w) => !b.permit.workers.includes(w));
      if (notOnPermit.length > 0) throw new ValidationError(`briefedWorkerIds contains people who are not workers on the permit`);
      const missing = b.permit.workers.filter((w) => !briefed.has(w));
      if (missing.length > 0) throw new RuleViolationError(`every worker must be briefed; ${missing.length} worker(s) missing`);
      return this.transition(ctx, 'brief', b, { briefedWorkerIds: b.permit.workers });
    });
  }

  @Submit()
  async Activate(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:Activate', input, 'activate', async (b) => {
      const p = b.permit;
      if (b.now < parseIso(p.plannedStart)) throw new RuleViolationError(`work cannot start before the planned start ${p.plannedStart}`);
      const rule = p.template.gasTest;
      if (rule.required && findStartingTest(p.gasTests, b.now, rule) === undefined) {
        throw new RuleViolationError(`no passing gas test taken within ${rule.maxAgeMinutes} min before the start; test again`);
      }
      const policy = await loadPolicy(ctx);
      if (p.template.gateCheckRequired) {
        // The guardian is checked in too: work does not start without them on site.
        const missing = workersWithoutRecentPass([...p.workers, p.guardianId], await listGateChecks(ctx, p.permitNo), b.now, policy.gateCheckWindowMinutes);
        if (missing.length > 0) {
          const workers = missing.filter((w) => w !== p.guardianId).length;
          const who = [...(workers > 0 ? [`${workers} worker(s)`] : []), ...(missing.includes(p.guardianId) ? ['the guardian'] : [])];
          throw new RuleViolationError(
            `${who.join(' and ')} ${workers === 0 ? 'has' : 'have'} not passed a gate check in the last ${policy.gateCheckWindowMinutes} min`,
          );
        }
      }
      await this.assertNoStoppingAlarm(ctx, p, policy.alarmSuspendMaxGrade);
      return this.transition(ctx, 'activate', b);
    });
  }

  /** Work does not (re)start while an alarm that would stop it is open in its area. */
  private async assertNoStoppingAlarm(ctx: Context, p: PermitRecord, maxGrade: number): Promise<void> {
    const stopping = (await openAlarms(ctx, p.location.siteId, p.location.zoneId)).flatMap((a) => {
      const why = alarmStopReason(a, p, maxGrade);
      return why === null ? [] : [{ a, why }];
    });
    if (stopping.some((s) => s.why === 'alarm')) {
      throw new RuleViolationError(`alarm(s) ${stopping.map((s) => s.a.alarmId).join(', ')} are open in this area; close them before work (re)starts`);
    }
    if (stopping.length > 0) {
      throw new RuleViolationError(
        `wind alarm(s) ${stopping.map((s) => `${s.a.alarmId} (${s.a.kind})`).join(', ')} are open in this ` +
          `area and stop outdoor ${p.operationType.replace(/_/g, ' ')}; close them when the wind has dropped`,
      );
    }
  }

  @Submit()
  async Suspend(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:Suspend', input, 'suspend', async (b) => {
      if (b.actor.role === 'sweeper' && b.data.reason !== 'monitoring_overdue') {
        throw new ForbiddenError("the sweeper suspends only for reason monitoring_overdue; other stops are people's decisions");
      }
      if (b.data.reason === 'monitoring_overdue') {
        const due = monitoringDueAt(b.permit.gasTests, b.permit.template.gasTest);
        if (due === null) throw new RuleViolationError('this permit has no continuous gas monitoring; choose another reason');
        if (b.now <= due) throw new RuleViolationError(`the next continuous gas reading is due at ${toIso(due)}; it is not overdue yet`);
      }
      return this.transition(ctx, 'suspend', b, { suspension: { reason: b.data.reason, alarmId: null, note: b.data.note, at: txTimeIso(ctx) } });
    });
  }

  @Submit()
  async Resume(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:Resume', input, 'resume', async (b) => {
      const p = b.permit;
      const suspension = p.suspension;
      if (suspension === null) throw new InvalidStateError('the permit has no recorded suspension');
      // Both leave the atmosphere unknown: a passing test after the stop comes before work.
      let byGasAlarm = suspension.reason === 'gas_alarm' || suspension.reason === 'monitoring_overdue';
      if (suspension.alarmId !== null) {
        const alarm = await getJson<AlarmRecord>(ctx, key(ctx, KEYS.alarm, [suspension.alarmId]));
        if (alarm?.status !== 'closed') throw new InvalidStateError(`suspended by alarm ${suspension.alarmId}; close the alarm before resuming`);
        // A sensor's alarm is about the atmosphere unless it was the wind that stopped the work.
        byGasAlarm ||= alarm.deviceKind === 'sensor' && suspension.reason !== 'weather';
      }
      const policy = await loadPolicy(ctx);
      await this.assertNoStoppingAlarm(ctx, p, policy.alarmSuspendMaxGrade);
      const suspendedAt = parseIso(suspension.at);
      const rule = p.template.gasTest;
      if (needsRetestBeforeResuming(b.now - suspendedAt, byGasAlarm, rule) && findStartingTest(p.gasTests, b.now, rule, suspendedAt) === undefined) {
        const why =
          suspension.reason === 'monitoring_overdue'
            ? 'the continuous gas reading was overdue'
            : byGasAlarm
              ? 'the permit was suspended by a gas alarm'
              : `the interruption exceeded ${rule.retestAfterInterruptionMinutes} min`;
        throw new RuleViolationError(`${why}; record a passing gas test taken after the suspension and within ${rule.maxAgeMinutes} min before resuming`);
      }
      if (suspension.reason === 'guardian_left' && !(await guardianCheckedInSince(ctx, p, suspendedAt))) {
        throw new RuleViolationError('work stopped because the guardian left; the guardian must pass a gate check again before work resumes');
      }
      if (dailyRetestDue(p.gasTests, b.now, rule)) {
        throw new RuleViolationError(`the last passing gas test is older than ${rule.retestEveryMinutes} min; gas is re-tested daily, record a new test`);
      }
      return this.transition(ctx, 'resume', b, { suspension: null });
    });
  }

  @Submit()
  async Complete(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:Complete', input, 'complete', async (b) => {
      // The workers were on the job: their off-the-job clock (six months → practical exam) restarts.
      const at = txTimeIso(ctx);
      for (const w of b.permit.workers) {
        const worker = await loadWorker(ctx, w);
        await putJson(ctx, workerKey(ctx, w), { ...worker, lastWorkedAt: at });
      }
      return this.transition(ctx, 'complete', b);
    });
  }

  @Submit()
  async Close(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:Close', input, 'close', async (b) => {
      const w = b.actor.workerId;
      if (w !== null && (b.permit.workers.includes(w) || w === b.permit.guardianId)) {
        throw new RuleViolationError('acceptance must be done by someone who is neither a worker nor the guardian of the permit');
      }
      return this.transition(ctx, 'close', b);
    });
  }

  @Submit()
  async Reject(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:Reject', input, 'reject', (b) => this.transition(ctx, 'reject', b));
  }

  @Submit()
  async Cancel(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:Cancel', input, 'cancel', (b) => this.transition(ctx, 'cancel', b));
  }

  @Submit()
  async Revoke(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:Revoke', input, 'revoke', (b) => this.transition(ctx, 'revoke', b));
  }

  /** Records that the validity ran out. Anyone involved may record it; it only states a fact. */
  @Submit()
  async Expire(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:Expire', input, null, async (b) => {
      assertCanStart('expire', b.permit.status);
      if (!isExpiredAt(b.permit, b.now)) {
        throw new InvalidStateError(`permit ${b.permit.permitNo} is valid until ${toIso(permitEndMs(b.permit))}; it has not expired`);
      }
      return this.transition(ctx, 'expire', b);
    });
  }

  /** A regulator's or auditor's flag; it never changes the permit itself. */
  @Submit()
  async Flag(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:Flag', input, null, async (b) => {
      const k = key(ctx, KEYS.flag, [b.permit.permitNo, b.data.flagId]);
      if (await exists(ctx, k)) throw new AlreadyExistsError(`flag ${b.data.flagId} already exists on permit ${b.permit.permitNo}`);
      const flag: InvestigationFlag = {
        docType: 'investigation_flag',
        permitNo: b.permit.permitNo,
        flagId: b.data.flagId,
        reason: b.data.reason,
        flaggedBy: b.actor,
        at: txTimeIso(ctx),
        txId: ctx.stub.getTxID(),
      };
      return putAndEmit(ctx, k, 'PermitFlagged', flag);
    });
  }

  /** The permit as it reads now: a permit whose validity ran out reads as expired. */
  @Evaluate()
  async Get(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:Get', input, null, async (b) => {
      return canonicalJson(readView(b.permit, b.now));
    });
  }

  @Evaluate()
  async GetHistory(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:GetHistory', input, null, async (b) => {
      return canonicalJson({ permitNo: b.permit.permitNo, steps: b.permit.history, gasTests: b.permit.gasTests, signOffs: b.permit.signOffs });
    });
  }

  /**
   * The permit's versions as committed on the ledger (not the record's own history array), so an
   * auditor can match each step to its block transaction.
   */
  @Evaluate()
  async GetLedgerHistory(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:GetLedgerHistory', input, null, async (b) => {
      const iterator = await ctx.stub.getHistoryForKey(permitKey(ctx, b.permit.permitNo));
      const versions: { txId: string; at: string; isDelete: boolean; status: PermitStatus | null; action: PermitAction | null }[] = [];
      try {
        for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
          const m = r.value;
          const rec = m.isDelete ? null : (JSON.parse(Buffer.from(m.value).toString('utf8')) as PermitRecord);
          const at = Number(m.timestamp.seconds) * 1000 + Math.floor(m.timestamp.nanos / 1e6);
          versions.push({
            txId: m.txId,
            at: toIso(at),
            isDelete: m.isDelete,
            status: rec?.status ?? null,
            action: rec?.history[rec.history.length - 1]?.action ?? null,
          });
        }
      } finally {
        await iterator.close();
      }
      // Peers (Fabric ≥ 2.0) return newest first, block order; auditors read a trail oldest first.
      // Sorting by time would scramble steps committed within the same second.
      versions.reverse();
      return canonicalJson({ permitNo: b.permit.permitNo, versions });
    });
  }

  @Evaluate()
  async GetFlags(ctx: Context, input: string): Promise<string> {
    return this.step(ctx, 'permit:GetFlags', input, null, async (b) => {
      return canonicalJson((await listByPartialKey<InvestigationFlag>(ctx, KEYS.flag, [b.permit.permitNo])).map((e) => e.value));
    });
  }

  @Evaluate()
  async ListLive(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'permit:ListLive', input, async ({ actor, data: q }) => {
      const now = txTimeMs(ctx);
      return canonicalJson((await listLivePermits(ctx, q.siteId, q.areaId, now, actor)).map((p) => readView(p, now)));
    });
  }

  /**
   * What the clock has made due on live permits of every site, for the sweeper: permits whose
   * validity ended (to record with Expire) and active permits whose continuous gas reading is
   * overdue (to suspend with reason monitoring_overdue). A read; acting on it is the caller's
   * transaction, which the chaincode checks again.
   */
  @Evaluate()
  async ListDue(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'permit:ListDue', input, async ({ actor, data: q }) => {
      const now = txTimeMs(ctx);
      return canonicalJson(await listDue(ctx, now, q.limit, actor));
    });
  }
}

/** GB 30871: the guardian never leaves; if they do, work stops until they are back and checked in. */
async function guardianCheckedInSince(ctx: Context, p: PermitRecord, sinceMs: number): Promise<boolean> {
  return (await listGateChecks(ctx, p.permitNo)).some((c) => c.workerId === p.guardianId && c.passed && parseIso(c.at) >= sinceMs);
}

export interface PermitView extends PermitRecord {
  recordedStatus: PermitStatus;
  expiredAt: string | null;
  gasMonitoring: { lastPassingSampleAt: string | null; dailyRetestDue: boolean; continuousReadingDueAt: string | null };
}

/** The permit as it reads at nowMs, with what the clock implies: expiry and gas-test due dates. */
export function readView(p: PermitRecord, nowMs: number): PermitView {
  const expired = isExpiredAt(p, nowMs);
  const last = lastPassingSampleMs(p.gasTests);
  const due = monitoringDueAt(p.gasTests, p.template.gasTest);
  return {
    ...p,
    status: expired ? 'expired' : p.status,
    recordedStatus: p.status,
    expiredAt: expired ? toIso(permitEndMs(p)) : null,
    gasMonitoring: {
      lastPassingSampleAt: last === undefined ? null : toIso(last),
      dailyRetestDue: dailyRetestDue(p.gasTests, nowMs, p.template.gasTest),
      continuousReadingDueAt: due === null ? null : toIso(due),
    },
  };
}
