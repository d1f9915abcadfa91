import {
  type Actor,
  type AlarmRecord,
  LIVE_PERMIT_STATUSES,
  PERMIT_EVENT_TYPES,
  type PermitAction,
  type PermitRecord,
  type PermitStatus,
  permitApplicantMsp,
  permitEventSummary,
  type SimopsRule,
  type WrittenAnswer,
} from '@compliance-ledger/schema';
import type { Context } from 'fabric-contract-api';
import { parseIso, toIso, txTimeIso } from './clock';
import { monitoringDueAt } from './gas-test-rules';
import { canonicalJson } from './json';
import { mayAccess } from './ownership';
import { type SimopsPermit, simopsScans, simopsSlots } from './simops';
import { deleteKey, exists, getJson, KEYS, key, listByPartialKey, mustGetJson, putJson, putMarker } from './store';
import { emit } from './tx';
import { isExpiredAt, permitEndMs } from './validity';

export function permitKey(ctx: Context, permitNo: string): string {
  return key(ctx, KEYS.permit, [permitNo]);
}

export function livePermitKey(ctx: Context, p: Pick<PermitRecord, 'location' | 'permitNo'>): string {
  return key(ctx, KEYS.livePermit, [p.location.siteId, p.location.zoneId, p.permitNo]);
}

export function legacyLivePermitKey(ctx: Context, p: Pick<PermitRecord, 'location' | 'permitNo'>): string {
  return key(ctx, KEYS.legacyLivePermit, [p.location.siteId, p.location.zoneId, p.permitNo]);
}

/** What the SIMOPS check needs of a live permit: facts fixed by the time it is issued. */
export interface SimopsEntry extends SimopsPermit {
  validUntil: string;
}

export function simopsEntryKeys(ctx: Context, p: SimopsPermit): string[] {
  return simopsSlots(p).map((s) => key(ctx, KEYS.simopsPermit, [p.location.siteId, s.selector, s.kind, s.scope, p.permitNo]));
}

/** The enterprise a permit belongs to ('' before anyone applied, which no actor's org matches). */
export function permitOwnerMsp(p: Pick<PermitRecord, 'history'>): string {
  return permitApplicantMsp(p) ?? '';
}

export async function loadPermit(ctx: Context, permitNo: string): Promise<PermitRecord> {
  return mustGetJson<PermitRecord>(ctx, permitKey(ctx, permitNo), `permit ${permitNo}`);
}

/** Appends the step to the permit's own history and sets the new status. */
export function recordStep(ctx: Context, permit: PermitRecord, action: PermitAction, to: PermitStatus, actor: Actor): PermitRecord {
  const from = permit.history.length === 0 && action === 'apply' ? null : permit.status;
  return {
    ...permit,
    status: to,
    history: [...permit.history, { action, from, to, actor, at: txTimeIso(ctx), txId: ctx.stub.getTxID() }],
  };
}

/**
 * Writes the permit and keeps the live-permit and SIMOPS indexes in step with its status: alarm
 * suspensions scan the one and SIMOPS checks the other, so both must hold exactly the live
 * permits. The SIMOPS entries are written once, when the permit becomes live, and deleted when it
 * stops being live; the steps in between never touch them, so they never disturb another Issue.
 */
export async function savePermit(ctx: Context, before: PermitStatus | null, permit: PermitRecord): Promise<void> {
  await putJson(ctx, permitKey(ctx, permit.permitNo), permit);
  const wasLive = before !== null && LIVE_PERMIT_STATUSES.includes(before);
  const isLive = LIVE_PERMIT_STATUSES.includes(permit.status);
  if (isLive && !wasLive) {
    await putMarker(ctx, livePermitKey(ctx, permit));
    const entry: SimopsEntry = {
      permitNo: permit.permitNo,
      operationType: permit.operationType,
      activities: permit.activities,
      location: permit.location,
      validUntil: toIso(permitEndMs(permit)),
    };
    for (const k of simopsEntryKeys(ctx, permit)) await putJson(ctx, k, entry);
  }
  if (!isLive && wasLive) {
    // A permit made live by the chaincode before the SIMOPS index has only its old entry.
    const legacy = legacyLivePermitKey(ctx, permit);
    if (await exists(ctx, legacy)) {
      await deleteKey(ctx, legacy);
    } else {
      await deleteKey(ctx, livePermitKey(ctx, permit));
      for (const k of simopsEntryKeys(ctx, permit)) await deleteKey(ctx, k);
    }
  }
}

/** The event of a permit step: the transition and a summary; the permit itself is the transaction's write (PermitTransitionPayload). */
export function emitPermitEvent(ctx: Context, action: PermitAction, from: PermitStatus | null, permit: PermitRecord): void {
  emit(ctx, PERMIT_EVENT_TYPES[action], {
    permitNo: permit.permitNo,
    action,
    from,
    to: permit.status,
    summary: permitEventSummary(permit),
  });
}

/** The answer of a permit step: the key it wrote, not a copy of the permit (schema's WrittenAnswer). */
export function permitAnswer(ctx: Context, permit: PermitRecord): string {
  return canonicalJson({ written: permitKey(ctx, permit.permitNo), permitNo: permit.permitNo, status: permit.status } satisfies WrittenAnswer);
}

/** Live permits of a site (optionally one zone) whose validity has not run out at nowMs, by zone and number. */
export async function listLivePermits(
  ctx: Context,
  siteId: string,
  zoneId: string | undefined,
  nowMs: number,
  viewer?: Pick<Actor, 'mspId'>,
): Promise<PermitRecord[]> {
  const partial = zoneId === undefined ? [siteId] : [siteId, zoneId];
  const entries = [
    ...(await listByPartialKey<unknown>(ctx, KEYS.livePermit, partial)),
    ...(await listByPartialKey<unknown>(ctx, KEYS.legacyLivePermit, partial)),
  ];
  const out: PermitRecord[] = [];
  for (const e of entries) {
    const permitNo = e.attributes[2];
    if (permitNo === undefined) continue;
    const p = await getJson<PermitRecord>(ctx, permitKey(ctx, permitNo));
    if (p !== undefined && !isExpiredAt(p, nowMs) && (viewer === undefined || mayAccess(viewer, permitOwnerMsp(p)))) out.push(p);
  }
  return out.sort((a, b) => (a.location.zoneId === b.location.zoneId ? (a.permitNo < b.permitNo ? -1 : 1) : a.location.zoneId < b.location.zoneId ? -1 : 1));
}

/**
 * The live permits, not expired at nowMs, that could conflict with the candidate under the rules:
 * the SIMOPS index ranges `simopsScans` names, never another permit's record, so another
 * permit's steps never invalidate this read. Permits made live before the index existed are in the
 * old live index, which nothing adds to: they are read whole, as before, until they end.
 */
export async function listSimopsNeighbours(ctx: Context, candidate: SimopsPermit, rules: SimopsRule[], nowMs: number): Promise<SimopsPermit[]> {
  const out = new Map<string, SimopsPermit>();
  const siteId = candidate.location.siteId;
  for (const s of simopsScans(candidate, rules)) {
    const partial = [siteId, s.selector, s.kind, ...(s.scope === null ? [] : [s.scope])];
    for (const e of await listByPartialKey<SimopsEntry>(ctx, KEYS.simopsPermit, partial)) {
      if (nowMs < parseIso(e.value.validUntil)) out.set(e.value.permitNo, e.value);
    }
  }
  for (const e of await listByPartialKey<unknown>(ctx, KEYS.legacyLivePermit, [siteId])) {
    const permitNo = e.attributes[2];
    if (permitNo === undefined) continue;
    const p = await getJson<PermitRecord>(ctx, permitKey(ctx, permitNo));
    if (p !== undefined && !isExpiredAt(p, nowMs)) out.set(p.permitNo, p);
  }
  return [...out.values()].sort((a, b) => (a.permitNo < b.permitNo ? -1 : 1));
}

/** Open (not yet closed) alarms of an area. */
export async function openAlarms(ctx: Context, siteId: string, areaId: string): Promise<AlarmRecord[]> {
  const entries = await listByPartialKey<unknown>(ctx, KEYS.openAlarm, [siteId, areaId]);
  const out: AlarmRecord[] = [];
  for (const e of entries) {
    const alarmId = e.attributes[2];
    if (alarmId === undefined) continue;
    const a = await getJson<AlarmRecord>(ctx, key(ctx, KEYS.alarm, [alarmId]));
    if (a !== undefined && a.status !== 'closed') out.push(a);
  }
  return out;
}

export interface DuePermits {
  asOf: string;
  expired: { permitNo: string; status: PermitStatus; endedAt: string }[];
  monitoringOverdue: { permitNo: string; dueAt: string }[];
}

/**
 * Scans the live-permit index of every site (it holds only issued, briefed, active and suspended
 * permits, so it stays small) for what the clock made due at nowMs, oldest first, at most `limit`
 * of each kind.
 */
export async function listDue(ctx: Context, nowMs: number, limit: number, viewer: Pick<Actor, 'mspId'>): Promise<DuePermits> {
  const entries = [...(await listByPartialKey<unknown>(ctx, KEYS.livePermit, [])), ...(await listByPartialKey<unknown>(ctx, KEYS.legacyLivePermit, []))];
  const expired: (DuePermits['expired'][number] & { at: number })[] = [];
  const overdue: (DuePermits['monitoringOverdue'][number] & { at: number })[] = [];
  for (const e of entries) {
    const permitNo = e.attributes[2];
    if (permitNo === undefined) continue;
    const p = await getJson<PermitRecord>(ctx, permitKey(ctx, permitNo));
    if (p === undefined || !mayAccess(viewer, permitOwnerMsp(p))) continue;
    if (isExpiredAt(p, nowMs)) {
      const end = permitEndMs(p);
      expired.push({ permitNo, status: p.status, endedAt: toIso(end), at: end });
    } else if (p.status === 'active') {
      const due = monitoringDueAt(p.gasTests, p.template.gasTest);
      if (due !== null && nowMs > due) overdue.push({ permitNo, dueAt: toIso(due), at: due });
    }
  }
  const byTime = <T extends { at: number; permitNo: string }>(a: T, b: T) => a.at - b.at || (a.permitNo < b.permitNo ? -1 : 1);
  return {
    asOf: toIso(nowMs),
    expired: expired
      .sort(byTime)
      .slice(0, limit)
      .map(({ at: _at, ...r }) => r),
    monitoringOverdue: overdue
      .sort(byTime)
      .slice(0, limit)
      .map(({ at: _at, ...r }) => r),
  };
}
