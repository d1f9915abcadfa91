import type { Context } from 'fabric-contract-api';
import {
  LIVE_PERMIT_STATUSES,
  PERMIT_EVENT_TYPES,
  type Actor,
  type AlarmRecord,
  type PermitAction,
  type PermitRecord,
  type PermitStatus,
} from '@compliance-ledger/schema';
import { txTimeIso } from './clock';
import { getJson, key, KEYS, listByPartialKey, mustGetJson, putJson, putMarker } from './store';
import { emit } from './tx';
import { isExpiredAt } from './validity';

export function permitKey(ctx: Context, permitNo: string): string {
  return key(ctx, KEYS.permit, [permitNo]);
}

export function livePermitKey(ctx: Context, p: Pick<PermitRecord, 'location' | 'permitNo'>): string {
  return key(ctx, KEYS.livePermit, [p.location.siteId, p.location.zoneId, p.permitNo]);
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
 * Writes the permit and keeps the live-permit index in step with its status: the index is what
 * SIMOPS checks and alarm suspensions scan, so it must hold exactly the live permits.
 */
export async function savePermit(ctx: Context, before: PermitStatus | null, permit: PermitRecord): Promise<void> {
  await putJson(ctx, permitKey(ctx, permit.permitNo), permit);
  const wasLive = before !== null && LIVE_PERMIT_STATUSES.includes(before);
  const isLive = LIVE_PERMIT_STATUSES.includes(permit.status);
  if (isLive && !wasLive) await putMarker(ctx, livePermitKey(ctx, permit));
  if (!isLive && wasLive) await ctx.stub.deleteState(livePermitKey(ctx, permit));
}

export function emitPermitEvent(ctx: Context, action: PermitAction, from: PermitStatus | null, permit: PermitRecord): void {
  emit(ctx, PERMIT_EVENT_TYPES[action], { permitNo: permit.permitNo, action, from, to: permit.status, permit });
}

/** Live permits of a site (optionally one zone) whose validity has not run out at nowMs. */
export async function listLivePermits(ctx: Context, siteId: string, zoneId: string | undefined, nowMs: number): Promise<PermitRecord[]> {
  const entries = await listByPartialKey<unknown>(ctx, KEYS.livePermit, zoneId === undefined ? [siteId] : [siteId, zoneId]);
  const out: PermitRecord[] = [];
  for (const e of entries) {
    const permitNo = e.attributes[2];
    if (permitNo === undefined) continue;
    const p = await getJson<PermitRecord>(ctx, permitKey(ctx, permitNo));
    if (p !== undefined && !isExpiredAt(p, nowMs)) out.push(p);
  }
  return out;
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
