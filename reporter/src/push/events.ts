import { createHash } from 'node:crypto';
import {
  type AlarmRecord,
  canonicalJson,
  PERMIT_EVENT_TYPES,
  type PermitRecord,
  type PermitTransitionPayload,
  permitEventSummary,
} from '@compliance-ledger/schema';

/**
 * What can be pushed: every permit lifecycle event, a flag on a permit, the alarm events, and
 * `MonitoringOverdue` (the sweeper's PermitSuspended with reason monitoring_overdue, which the
 * regulator treats as an alarm). Worker, certificate and personal-data events are never pushed.
 */
export const PUSH_EVENT_TYPES = [
  ...Object.values(PERMIT_EVENT_TYPES),
  'MonitoringOverdue',
  'PermitFlagged',
  'AlarmRecorded',
  'AlarmAcknowledged',
  'AlarmClosed',
] as const;
export type PushEventType = (typeof PUSH_EVENT_TYPES)[number];

export const PAYLOAD_PROFILES = ['ledger', 'provincial'] as const;
export type PayloadProfile = (typeof PAYLOAD_PROFILES)[number];

export interface Subscription {
  id: string;
  url: string;
  eventTypes: PushEventType[];
  /** Alarm events only at this grade or more severe (1 = grade I, the most severe); null: every grade. */
  alarmGradeAtLeast: 1 | 2 | 3 | 4 | null;
  /** MSP ids of the enterprises whose records are pushed; empty: every enterprise. */
  enterpriseIds: string[];
  siteIds: string[];
  profile: PayloadProfile;
  /** Events of earlier blocks are not pushed to it, except by a replay. */
  fromBlock: string;
  createdAt: string;
}

/** A ledger event reduced to what filters and payloads need; `data` is the chaincode's payload. */
export interface LedgerFact {
  eventType: PushEventType;
  blockNumber: string;
  txId: string;
  occurredAt: string;
  enterpriseId: string | null;
  siteId: string | null;
  alarmGrade: number | null;
  permit: { permitNo: string; operationType: string; level: string; status: string } | null;
  alarmId: string | null;
  /** Deliveries of the same key go out one at a time, in ledger order. */
  orderKey: string;
  data: unknown;
}

interface Envelope {
  type: string;
  txId: string;
  at: string;
  payload: Record<string, unknown>;
}

/**
 * What a permit event tells a subscriber. Since event schema 2 it carries a summary (the permit is the
 * transaction's write, which a chaincode event stream does not deliver); version 1 events carry the
 * whole permit. The enterprise is the MSP of whoever applied for it.
 */
function permitFacts(p: PermitTransitionPayload): {
  enterpriseId: string | null;
  siteId: string;
  suspensionReason: string | null;
  permit: NonNullable<LedgerFact['permit']>;
} {
  const s = p.summary ?? permitEventSummary(p.permit as PermitRecord);
  return {
    enterpriseId: s.enterpriseMsp,
    siteId: s.siteId,
    suspensionReason: s.suspensionReason,
    permit: { permitNo: p.permitNo, operationType: s.operationType, level: s.level, status: p.to },
  };
}

/** Decodes one chaincode event into a fact, or null when it is not pushable. */
export function factOf(eventName: string, payload: Uint8Array, blockNumber: bigint, txId: string): LedgerFact | null {
  let e: Envelope;
  try {
    e = JSON.parse(Buffer.from(payload).toString('utf8')) as Envelope;
  } catch {
    return null;
  }
  const base = { blockNumber: blockNumber.toString(), txId, occurredAt: e.at, data: e.payload };
  const permitTypes = Object.values(PERMIT_EVENT_TYPES) as string[];
  if (permitTypes.includes(eventName)) {
    const facts = permitFacts(e.payload as unknown as PermitTransitionPayload);
    const overdue = eventName === 'PermitSuspended' && facts.suspensionReason === 'monitoring_overdue';
    return {
      ...base,
      eventType: overdue ? 'MonitoringOverdue' : (eventName as PushEventType),
      enterpriseId: facts.enterpriseId,
      siteId: facts.siteId,
      alarmGrade: null,
      permit: facts.permit,
      alarmId: null,
      orderKey: `permit:${facts.permit.permitNo}`,
    };
  }
  if (eventName === 'PermitFlagged') {
    const permitNo = String(e.payload.permitNo);
    return {
      ...base,
      eventType: 'PermitFlagged',
      enterpriseId: null,
      siteId: null,
      alarmGrade: null,
      permit: null,
      alarmId: null,
      orderKey: `permit:${permitNo}`,
    };
  }
  if (eventName === 'AlarmRecorded' || eventName === 'AlarmAcknowledged' || eventName === 'AlarmClosed') {
    const alarm = (eventName === 'AlarmRecorded' ? e.payload.alarm : e.payload) as AlarmRecord;
    return {
      ...base,
      eventType: eventName,
      enterpriseId: alarm.recordedBy?.mspId ?? null,
      siteId: alarm.siteId,
      alarmGrade: alarm.grade,
      permit: null,
      alarmId: alarm.alarmId,
      orderKey: `alarm:${alarm.alarmId}`,
    };
  }
  return null;
}

export function matches(s: Subscription, f: LedgerFact): boolean {
  if (!s.eventTypes.includes(f.eventType)) return false;
  if (BigInt(f.blockNumber) < BigInt(s.fromBlock)) return false;
  if (f.alarmGrade !== null && s.alarmGradeAtLeast !== null && f.alarmGrade > s.alarmGradeAtLeast) return false;
  if (s.enterpriseIds.length > 0 && (f.enterpriseId === null || !s.enterpriseIds.includes(f.enterpriseId))) return false;
  if (s.siteIds.length > 0 && (f.siteId === null || !s.siteIds.includes(f.siteId))) return false;
  return true;
}

/**
 * The same ledger event to the same subscription always gets the same id, across retries and
 * restarts; a replay the regulator asks for is a new generation and new ids.
 */
export function deliveryIdOf(subscriptionId: string, txId: string, generation: number): string {
  return createHash('sha256').update(`${subscriptionId}\n${txId}\n${generation}`).digest('hex').slice(0, 32);
}

/** Event type codes of the provincial profile (this project's table, documented in the README). */
export const PROVINCIAL_EVENT_CODES: Record<PushEventType, string> = {
  PermitApplied: 'ZY01',
  PermitRiskAssessed: 'ZY02',
  GasTestRecorded: 'ZY03',
  PermitSignedOff: 'ZY04',
  PermitIssued: 'ZY05',
  PermitBriefed: 'ZY06',
  PermitActivated: 'ZY07',
  PermitSuspended: 'ZY08',
  PermitResumed: 'ZY09',
  PermitCompleted: 'ZY10',
  PermitClosed: 'ZY11',
  PermitRejected: 'ZY12',
  PermitCancelled: 'ZY13',
  PermitRevoked: 'ZY14',
  PermitExpired: 'ZY15',
  PermitFlagged: 'ZY16',
  MonitoringOverdue: 'BJ02',
  AlarmRecorded: 'BJ01',
  AlarmAcknowledged: 'BJ03',
  AlarmClosed: 'BJ04',
};

export const PROVINCIAL_WORK_TYPES: Record<string, string> = {
  hot_work: '01',
  confined_space: '02',
  blind_plate: '03',
  work_at_height: '04',
  lifting: '05',
  temporary_electricity: '06',
  excavation: '07',
  road_breaking: '08',
};

/** yyyy-MM-dd HH:mm:ss in China Standard Time (UTC+8, no daylight saving), as such platforms take it. */
export function chinaTime(iso: string): string {
  const d = new Date(Date.parse(iso) + 8 * 3600_000);
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/** The exact bytes sent (and signed) for one delivery, in the subscription's profile. */
export function bodyOf(profile: PayloadProfile, deliveryId: string, subscriptionId: string, f: LedgerFact): string {
  if (profile === 'provincial') {
    return canonicalJson({
      dataId: deliveryId,
      enterpriseCode: f.enterpriseId,
      siteCode: f.siteId,
      eventTypeCode: PROVINCIAL_EVENT_CODES[f.eventType],
      occurTime: chinaTime(f.occurredAt),
      alarmLevel: f.alarmGrade,
      permitNo: f.permit?.permitNo ?? null,
      workTypeCode: f.permit ? (PROVINCIAL_WORK_TYPES[f.permit.operationType] ?? null) : null,
      workLevel: f.permit?.level ?? null,
      blockHeight: Number(f.blockNumber),
      txHash: f.txId,
    });
  }
  return canonicalJson({
    deliveryId,
    subscriptionId,
    eventType: f.eventType,
    blockNumber: f.blockNumber,
    txId: f.txId,
    occurredAt: f.occurredAt,
    enterpriseId: f.enterpriseId,
    siteId: f.siteId,
    alarmGrade: f.alarmGrade,
    permit: f.permit,
    alarmId: f.alarmId,
    data: f.data,
  });
}
