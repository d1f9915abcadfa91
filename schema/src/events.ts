import type { PermitAction, PermitStatus } from './domain';
import type { HeartbeatRecord } from './heartbeat';
import type {
  Actor,
  AlarmRecord,
  CertificateRecord,
  DeviceRecord,
  EvidenceRecord,
  GateCheckRecord,
  InvestigationFlag,
  LedgerPolicy,
  PermitRecord,
  PersonalDataAccessRecord,
  WorkerRecord,
  WorkflowTemplate,
} from './records';

/**
 * Every transaction emits exactly one chaincode event. The event name equals `type`, and the
 * payload is JSON of this envelope; the indexer and the gateway decode it with these types.
 * Version 2: a permit event names the transition and a summary, no longer the whole permit (see
 * PermitTransitionPayload). Blocks keep version 1 events for ever, so readers take both.
 */
export const EVENT_SCHEMA_VERSION = 2;
export type EventSchemaVersion = 1 | typeof EVENT_SCHEMA_VERSION;
export const EVENT_SCHEMA_VERSIONS_READ: readonly EventSchemaVersion[] = [1, 2];

export interface LedgerEventEnvelope<T extends string, P> {
  schemaVersion: EventSchemaVersion;
  type: T;
  txId: string;
  /** ISO-8601 transaction timestamp (from the proposal, identical on every endorser). */
  at: string;
  payload: P;
}

export type HeartbeatRecordedEvent = LedgerEventEnvelope<'HeartbeatRecorded', HeartbeatRecord>;

/**
 * Payload of every permit lifecycle event: the transition, and what a subscriber filters on. The
 * permit after it is the transaction's own write of `permitStateKey(permitNo)`, in the same block:
 * a copy in the event made every permit transaction carry the record three times (write set, event,
 * answer), and its bytes were a tenth of the network's CPU per permit (bench/RESULTS.md, 2026-12-07).
 * Version 1 events (older blocks) carry `permit` and no summary.
 */
export interface PermitTransitionPayload {
  permitNo: string;
  action: PermitAction;
  from: PermitStatus | null;
  to: PermitStatus;
  /** Version 1 only. */
  permit?: PermitRecord;
  /** Version 2 on. */
  summary?: PermitEventSummary;
}

/** The facts of a permit that event subscribers (regulator push) filter and label on. */
export interface PermitEventSummary {
  /** MSP of the enterprise that applied for it. */
  enterpriseMsp: string | null;
  siteId: string;
  operationType: string;
  level: string;
  /** Why it is suspended, when the transition suspended it; null otherwise. */
  suspensionReason: string | null;
}

/** The MSP of the enterprise a permit belongs to: the org of the member who applied for it. */
export function permitApplicantMsp(p: Pick<PermitRecord, 'history'>): string | null {
  return p.history[0]?.actor.mspId ?? null;
}

/** A permit's summary as its events carry it (the chaincode) and as a version 1 event's permit gives it (readers). */
export function permitEventSummary(p: PermitRecord): PermitEventSummary {
  return {
    enterpriseMsp: permitApplicantMsp(p),
    siteId: p.location.siteId,
    operationType: p.operationType,
    level: p.level,
    suspensionReason: p.suspension?.reason ?? null,
  };
}

/** The world-state key a permit is stored under (Fabric's composite key of type `permit`). */
export const permitStateKey = (permitNo: string): string => `\u0000permit\u0000${permitNo}\u0000`;

/** Event type per permit action. */
export const PERMIT_EVENT_TYPES = {
  apply: 'PermitApplied',
  assess_risk: 'PermitRiskAssessed',
  gas_test: 'GasTestRecorded',
  sign_off: 'PermitSignedOff',
  issue: 'PermitIssued',
  brief: 'PermitBriefed',
  activate: 'PermitActivated',
  suspend: 'PermitSuspended',
  resume: 'PermitResumed',
  complete: 'PermitCompleted',
  close: 'PermitClosed',
  reject: 'PermitRejected',
  cancel: 'PermitCancelled',
  revoke: 'PermitRevoked',
  expire: 'PermitExpired',
} as const satisfies Record<PermitAction, string>;
export type PermitEventType = (typeof PERMIT_EVENT_TYPES)[PermitAction];

export type PermitLifecycleEvent = {
  [K in PermitEventType]: LedgerEventEnvelope<K, PermitTransitionPayload>;
}[PermitEventType];

export type PermitFlaggedEvent = LedgerEventEnvelope<'PermitFlagged', InvestigationFlag>;
export type TemplatePublishedEvent = LedgerEventEnvelope<'TemplatePublished', WorkflowTemplate>;
export type PolicyPublishedEvent = LedgerEventEnvelope<'PolicyPublished', LedgerPolicy>;
export type WorkerRegisteredEvent = LedgerEventEnvelope<'WorkerRegistered', WorkerRecord>;
export type WorkerStatusChangedEvent = LedgerEventEnvelope<'WorkerStatusChanged', WorkerRecord>;
/** Says that personal data was stored privately; carries no personal field. */
export type WorkerPersonalDataStoredEvent = LedgerEventEnvelope<'WorkerPersonalDataStored', { workerId: string; collection: string }>;
export type CertificateAddedEvent = LedgerEventEnvelope<'CertificateAdded', CertificateRecord>;
export type CertificateStatusChangedEvent = LedgerEventEnvelope<'CertificateStatusChanged', CertificateRecord>;
export type CertificateReviewedEvent = LedgerEventEnvelope<'CertificateReviewed', CertificateRecord>;
export type PracticalExamRecordedEvent = LedgerEventEnvelope<'PracticalExamRecorded', CertificateRecord>;
export type CertificateNumberStoredEvent = LedgerEventEnvelope<'CertificateNumberStored', { certificateId: string; collection: string }>;
export type GateCheckRecordedEvent = LedgerEventEnvelope<'GateCheckRecorded', GateCheckRecord>;
/** `duplicate` is true when the same CID was already recorded for the step (nothing written). */
export type EvidenceRecordedEvent = LedgerEventEnvelope<'EvidenceRecorded', { evidence: EvidenceRecord; duplicate: boolean }>;
export type DeviceRegisteredEvent = LedgerEventEnvelope<'DeviceRegistered', DeviceRecord>;
export type DeviceStatusChangedEvent = LedgerEventEnvelope<'DeviceStatusChanged', DeviceRecord>;
/** `suspendedPermits` are the permits this alarm suspended in the same transaction, after the change. */
export type AlarmRecordedEvent = LedgerEventEnvelope<'AlarmRecorded', { alarm: AlarmRecord; suspendedPermits: PermitRecord[] }>;
export type AlarmAcknowledgedEvent = LedgerEventEnvelope<'AlarmAcknowledged', AlarmRecord>;
export type AlarmClosedEvent = LedgerEventEnvelope<'AlarmClosed', AlarmRecord>;
export type DetectionReviewedEvent = LedgerEventEnvelope<'DetectionReviewed', AlarmRecord>;
/** Personal data purged from the private collection (PIPL erasure); carries no personal field. */
export type PersonalDataErasedEvent = LedgerEventEnvelope<
  'PersonalDataErased',
  { subject: { kind: 'worker' | 'certificate'; id: string }; reason: string; collection: string; erasedBy: Actor }
>;
export type PersonalDataAccessLoggedEvent = LedgerEventEnvelope<'PersonalDataAccessLogged', PersonalDataAccessRecord>;

export type LedgerEvent =
  | HeartbeatRecordedEvent
  | PermitLifecycleEvent
  | PermitFlaggedEvent
  | TemplatePublishedEvent
  | PolicyPublishedEvent
  | WorkerRegisteredEvent
  | WorkerStatusChangedEvent
  | WorkerPersonalDataStoredEvent
  | CertificateAddedEvent
  | CertificateStatusChangedEvent
  | CertificateReviewedEvent
  | PracticalExamRecordedEvent
  | CertificateNumberStoredEvent
  | GateCheckRecordedEvent
  | EvidenceRecordedEvent
  | DeviceRegisteredEvent
  | DeviceStatusChangedEvent
  | AlarmRecordedEvent
  | AlarmAcknowledgedEvent
  | AlarmClosedEvent
  | DetectionReviewedEvent
  | PersonalDataAccessLoggedEvent
  | PersonalDataErasedEvent;

export type LedgerEventType = LedgerEvent['type'];
export type LedgerEventOf<T extends LedgerEventType> = Extract<LedgerEvent, { type: T }>;

/** Every event type, for consumers that validate or route events at run time. */
export const LEDGER_EVENT_TYPES = [
  'HeartbeatRecorded',
  ...Object.values(PERMIT_EVENT_TYPES),
  'PermitFlagged',
  'TemplatePublished',
  'PolicyPublished',
  'WorkerRegistered',
  'WorkerStatusChanged',
  'WorkerPersonalDataStored',
  'CertificateAdded',
  'CertificateStatusChanged',
  'CertificateReviewed',
  'PracticalExamRecorded',
  'CertificateNumberStored',
  'GateCheckRecorded',
  'EvidenceRecorded',
  'DeviceRegistered',
  'DeviceStatusChanged',
  'AlarmRecorded',
  'AlarmAcknowledged',
  'AlarmClosed',
  'DetectionReviewed',
  'PersonalDataAccessLogged',
  'PersonalDataErased',
] as const satisfies readonly LedgerEventType[];

// Compile-time check that the list above names every member of the union.
type MissingEventType = Exclude<LedgerEventType, (typeof LEDGER_EVENT_TYPES)[number]>;
const everyEventTypeListed: MissingEventType extends never ? true : MissingEventType = true;
void everyEventTypeListed;
