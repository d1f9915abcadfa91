import type { AlarmClip, AlarmGrade, DeviceSignedReading, SignedAlarmFields } from './alarm-signature';
import type {
  AlarmStatus,
  CertificateStatus,
  DetectionVerdict,
  DeviceKind,
  DeviceStatus,
  EvidenceStep,
  LelClass,
  OperationType,
  PermitAction,
  PermitStatus,
  SimopsActivity,
  SuspensionReason,
  WorkerStatus,
} from './domain';
import type { Role } from './organizations';

/**
 * Shapes of the JSON records the chaincode keeps in public state. They are also the payloads of
 * the chaincode events, so the indexer stores exactly what the ledger holds.
 */

/** Who did something: taken from the caller's certificate, never from the input. */
export interface Actor {
  mspId: string;
  certificateId: string;
  role: Role;
  department: string | null;
  workerId: string | null;
}

export interface SignOffStepTemplate {
  stepId: string;
  name: string;
  kind: 'review' | 'cosign' | 'approval';
  role: Role;
  /** Department the signer must belong to (`ledger.department`), or `$work_unit`, or null for any. */
  department: string | null;
  /** Number of distinct people who must sign this step (2 = dual review). */
  distinctSigners: number;
  /** The signer declares being at the work site (GB 30871: the approver approves at the site). */
  atSite: boolean;
}

export interface GasTestRule {
  required: boolean;
  /** A sample older than this at the start of work (or entry) does not count. */
  maxAgeMinutes: number;
  /** An interruption longer than this needs a fresh passing test before resuming. */
  retestAfterInterruptionMinutes: number;
  /** Maximum flammable concentration in % by volume, per LEL class. */
  flammableMaxVolPct: Record<LelClass, number>;
  /** Even without an interruption, a new passing test is needed this often (daily re-test). */
  retestEveryMinutes: number;
  /** Oxygen window for confined spaces, % by volume; null where not required. */
  oxygen: { minVolPct: number; maxVolPct: number; absoluteMaxVolPct: number } | null;
  /** Recording interval for continuous monitoring; null where not required. Recorded, not enforced. */
  continuousMonitoringIntervalMinutes: number | null;
}

export interface WorkflowTemplate {
  operationType: OperationType;
  level: string;
  version: number;
  title: string;
  maxValidityMinutes: number;
  /**
   * The longest validity when the application is flagged as a special case with a recorded reason
   * (temporary electricity: 30 days, GB 30871); null or absent (templates stored before it existed):
   * the operation has no special case.
   */
  specialCaseMaxValidityMinutes?: number | null;
  signOffSteps: SignOffStepTemplate[];
  gasTest: GasTestRule;
  /** Every worker must hold a valid certificate of each listed category for the whole window. */
  requiredCertificateCategories: string[];
  /**
   * The guardian (监护人) must be trained and certified too: a valid certificate of each listed
   * category for the whole window. Templates published before this field existed read as [].
   */
  guardianCertificateCategories: string[];
  /** True when every worker and the guardian must pass a gate check before the permit becomes active. */
  gateCheckRequired: boolean;
  publishedBy: Actor | null;
  publishedAt: string | null;
}

/** Selects permits by type or by a declared activity. */
export interface SimopsSelector {
  operationType?: OperationType;
  activity?: SimopsActivity;
}

export interface SimopsRule {
  ruleId: string;
  a: SimopsSelector;
  b: SimopsSelector;
  /** Conflict when both are in the same zone, or when both have coordinates within this many metres. */
  withinMetres: number | null;
  /** Conflict only when both declare the same dike. */
  sameDike: boolean;
  /** Conflict only when both declare the same pipeline. */
  samePipeline: boolean;
  /** The rule applies only when one of the two permits is in a fire/explosion zone. */
  fireExplosionZoneOnly: boolean;
}

/**
 * The site's local calendar, for GB 30871's night, rest-day and holiday raise of hot work. Times
 * are local to the site (a fixed UTC offset, as in China); null in a policy: not configured, and
 * the applicant's `nightOrHoliday` flag alone decides.
 */
export interface WorkCalendar {
  utcOffsetMinutes: number;
  /** Night from this minute of the local day… */
  nightStartMinute: number;
  /** …to this one (exclusive; across midnight when smaller). Equal: no night hours. */
  nightEndMinute: number;
  /** Weekly rest days, 0 = Sunday … 6 = Saturday. */
  restDays: number[];
  /** Public holidays, local dates YYYY-MM-DD. */
  holidays: string[];
  /** Adjusted working days (调休) that fall on a rest day, local dates YYYY-MM-DD. */
  workdays: string[];
}

export interface LedgerPolicy {
  version: number;
  /** Alarms of this grade or more severe (numerically ≤) suspend the active permits of their area. */
  alarmSuspendMaxGrade: AlarmGrade;
  /** A gate check counts for activation if it passed within this many minutes. */
  gateCheckWindowMinutes: number;
  /** Minimum face-match score, basis points. */
  faceMatchMinScoreBp: number;
  /** How long a logged personal-data access allows reading the private record. */
  personalDataAccessWindowMinutes: number;
  simopsRules: SimopsRule[];
  /** Policies published before this field existed read as null. */
  workCalendar: WorkCalendar | null;
  publishedBy: Actor | null;
  publishedAt: string | null;
}

export interface PermitLocation {
  siteId: string;
  zoneId: string;
  /** Site grid coordinates in metres. */
  coordinates: { x: number; y: number } | null;
  fireExplosionZone: boolean;
  /** Declared for hot work, work at height and lifting (null elsewhere): outdoors, wind stops them. */
  outdoor: boolean | null;
  dikeId: string | null;
  pipelineId: string | null;
}

export interface Hazard {
  hazardId: string;
  description: string;
}
export interface Measure {
  measureId: string;
  hazardId: string | null;
  description: string;
}
export interface MeasureConfirmation {
  measureId: string;
  /** Pseudonymous worker id of the person who confirmed the measure is in place. */
  confirmedBy: string;
}

export interface PermitStep {
  action: PermitAction;
  from: PermitStatus | null;
  to: PermitStatus;
  actor: Actor;
  at: string;
  txId: string;
}

export interface ToxicReading {
  substance: string;
  measured: number;
  limit: number;
  unit: 'ppm' | 'mg/m3';
}

export interface GasTestRecord {
  testId: string;
  sampleTakenAt: string;
  recordedAt: string;
  lelClass: LelClass;
  flammableVolPct: number;
  oxygenVolPct: number | null;
  toxic: ToxicReading[];
  passed: boolean;
  failures: string[];
  analyst: Actor;
  txId: string;
}

export interface SignOffRecord {
  stepId: string;
  actor: Actor;
  at: string;
  txId: string;
  atSite: boolean;
  opinion: string;
}

export interface PermitRecord {
  docType: 'permit';
  permitNo: string;
  operationType: OperationType;
  level: string;
  requestedLevel: string;
  nightOrHoliday: boolean;
  heightHazardFactors: boolean;
  /** Why the work calendar found the window at night or on a rest day/holiday; null if it did not. */
  nightOrHolidayFromCalendar: string | null;
  /** Work at height only: the height that decided the class. */
  workHeightMetres: number | null;
  /** Lifting only: the load that decided the level. */
  liftLoadTonnes: number | null;
  location: PermitLocation;
  workUnit: string;
  description: string;
  plannedStart: string;
  plannedEnd: string;
  workers: string[];
  personInChargeId: string;
  guardianId: string;
  hazards: Hazard[];
  measures: Measure[];
  activities: SimopsActivity[];
  relatedPermitNos: string[];
  servesPermitNo: string | null;
  /** Why the applicant claimed the template's special-case validity; absent on older permits. */
  specialCaseReason?: string | null;
  templateVersion: number;
  template: WorkflowTemplate;
  status: PermitStatus;
  confirmations: MeasureConfirmation[];
  gasTests: GasTestRecord[];
  signOffs: SignOffRecord[];
  briefedWorkerIds: string[];
  validFrom: string | null;
  validUntil: string | null;
  suspension: { reason: SuspensionReason; alarmId: string | null; note: string; at: string } | null;
  history: PermitStep[];
}

export interface InvestigationFlag {
  docType: 'investigation_flag';
  permitNo: string;
  flagId: string;
  reason: string;
  flaggedBy: Actor;
  at: string;
  txId: string;
}

export interface WorkerRecord {
  docType: 'worker';
  workerId: string;
  status: WorkerStatus;
  registeredBy: Actor;
  registeredAt: string;
  /**
   * When a permit this worker worked on was last completed (null: none on the ledger yet). With
   * the registration time it tells how long the worker has been off the job.
   */
  lastWorkedAt: string | null;
  statusHistory: { status: WorkerStatus; reason: string; actor: Actor; at: string }[];
  /**
   * Raised by every change to the worker's status or certificates; worker codes issued at a lower
   * epoch are refused at the gate. Absent on records from before it existed: epoch 0.
   */
  credentialEpoch?: number;
  /**
   * Every certificate recorded for the worker, in the order added (the same as the chaincode's
   * certificate index holds), so that a permit reads a crew's certificates with its records, not with
   * a range query per person. Absent on records from before it existed: those are read through the
   * index until the worker's next certificate.
   */
  certificateIds?: string[];
}

export interface CertificateRecord {
  docType: 'certificate';
  /** Opaque id (the certificate number can equal the ID number, so the number itself is private). */
  certificateId: string;
  workerId: string;
  category: string;
  item: string;
  authority: string;
  validFrom: string;
  validUntil: string;
  reviewDue: string;
  status: CertificateStatus;
  scanSha256: string;
  addedBy: Actor;
  addedAt: string;
  reviews: { previousDue: string; nextDue: string; actor: Actor; at: string }[];
  /** Practical exams passed again after six months or more off the job. */
  practicalExams: { examinedAt: string; actor: Actor; at: string }[];
  statusHistory: { status: CertificateStatus; reason: string; actor: Actor; at: string }[];
}

export interface GateCheckRecord {
  docType: 'gate_check';
  gateCheckId: string;
  permitNo: string;
  workerId: string;
  at: string;
  methods: {
    qr: { passed: boolean };
    // scoreBp is null on device-signed checks: the score stays on the gate, only its hash is recorded.
    face: { scoreBp: number | null; deviceId: string; templateSha256: string | null; passed: boolean };
    certificate: { certificateIds: string[]; passed: boolean; reason: string };
    health: { passed: boolean };
  };
  passed: boolean;
  recordedBy: Actor;
  txId: string;
  /**
   * Present on gate checks signed by the gate device (credential:RecordSignedGateCheck); absent on
   * the legacy ones whose QR result the caller asserted.
   */
  device?: GateCheckDeviceRecord;
}

/** What the gate device signed, and the ledger's own re-check of it. */
export interface GateCheckDeviceRecord {
  deviceId: string;
  /** The address that signed (the device's registered key). */
  signer: string;
  signature: string;
  role: 'worker' | 'guardian';
  codeSha256: string;
  /** The worker code's credential epoch and issuing office. */
  codeEpoch: number;
  officeId: string;
  /** The gate's decision: 'pass' or its verifier's refusal code. */
  gateDecision: string;
  /** The ledger's decision on the same code at commit time: 'pass' or a refusal code, with the reason. */
  ledgerDecision: string;
  ledgerReason: string;
  /** True when the gate and the ledger disagree on pass/refuse (an offline gate on a stale snapshot, a faulty gate). */
  disagreement: boolean;
  offline: boolean;
  snapshotHeight: number;
  checkedAt: string;
  biometricSha256: string;
  faceMatched: boolean;
  healthDeclared: boolean;
  /** The photo or clip of the person at the gate (a version 2 check): in the content store, its hash signed by the gate. */
  photo?: GateCheckPhoto;
}

/** Personal data: the bytes stay off the ledger, the gateway serves them to the enterprise's safety roles and the regulator. */
export interface GateCheckPhoto {
  cid: string;
  /** sha256 of the bytes, lowercase hex: the one the gate device signed. */
  sha256: string;
  sizeBytes: number;
  mediaType: string;
}

export interface EvidenceRecord {
  docType: 'evidence';
  permitNo: string;
  step: EvidenceStep;
  cid: string;
  sha256: string;
  sizeBytes: number;
  mediaType: string;
  capturedAt: string;
  deviceId: string | null;
  recordedBy: Actor;
  recordedAt: string;
  txId: string;
}

export interface DeviceRecord {
  docType: 'device';
  deviceId: string;
  ownerMsp: string;
  siteId: string;
  areaId: string;
  address: string;
  kind: DeviceKind;
  /** Absent on records from before it existed: those devices sign. */
  signsReadings?: boolean;
  status: DeviceStatus;
  registeredBy: Actor;
  registeredAt: string;
  statusHistory: { status: DeviceStatus; reason: string; actor: Actor; at: string }[];
}

export interface AlarmRecord extends SignedAlarmFields {
  docType: 'alarm';
  /** Version 1 (absent): the device's EIP-712 `Alarm` signature. Version 2: the ingest service's EIP-712 `Grading` signature. */
  signature: string;
  /** The address that made `signature`: the device's (v1) or the ingest service's (v2). */
  signer: string;
  /** 2 for service-graded alarms; absent on device-signed (v1) records. */
  signatureVersion?: 2;
  /** v2: the registered ingest service that graded the alarm. */
  serviceId?: string;
  /** v2: sha256 of `reading.message`, as signed in the grading (zeros without a reading). */
  readingSha256?: string;
  /** v2: the triggering message as the device signed it, with the recovered device address; null for a device registered as not signing. */
  reading?: (DeviceSignedReading & { signer: string }) | null;
  /** v2 on a camera's signed detection with a clip: the clip sha256 the camera signed and what ingest found; null otherwise. */
  clip?: AlarmClip | null;
  deviceKind: DeviceKind;
  status: AlarmStatus;
  recordedBy: Actor;
  recordedAt: string;
  txId: string;
  suspendedPermitNos: string[];
  acknowledgedBy: Actor | null;
  acknowledgedAt: string | null;
  /** Milliseconds from the ledger recording the alarm to its acknowledgement. */
  responseMs: number | null;
  closedBy: Actor | null;
  closedAt: string | null;
  resolution: string | null;
  review: { verdict: DetectionVerdict; note: string; reviewer: Actor; at: string } | null;
}

export interface PersonalDataAccessRecord {
  docType: 'personal_data_access';
  accessId: string;
  subject: { kind: 'worker' | 'certificate'; id: string };
  purpose: string;
  accessor: Actor;
  at: string;
  txId: string;
}
