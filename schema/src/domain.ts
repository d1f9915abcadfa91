/**
 * Vocabulary of GB 30871-2022 special operations, shared by every package so that the
 * chaincode, the indexer and the gateway agree on spelling.
 */
export const OPERATION_TYPES = [
  'hot_work',
  'confined_space',
  'blind_plate',
  'work_at_height',
  'lifting',
  'temporary_electricity',
  'excavation',
  'road_breaking',
] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

/**
 * The high-risk behaviours that edge cameras detect (the message standard's `behaviour` and an
 * alarm's `behaviour.<name>` kind). The order is also the order of the risk model's features.
 */
export const BEHAVIOURS = [
  'no_helmet',
  'no_harness',
  'no_protective_clothing',
  'smoking',
  'warning_zone_intrusion',
  'fatigue',
  'guardian_absent',
  'fire_smoke',
  'phone_use',
  'unauthorized_person',
  'person_down',
  'extinguisher_missing',
] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

/**
 * Levels per operation. Hot work: special (特级), 1 (一级), 2 (二级). Work at height: I..IV.
 * Lifting: 1 (> 100 t), 2 (40–100 t), 3 (< 40 t). The rest have a single level.
 */
export const OPERATION_LEVELS: Record<OperationType, readonly string[]> = {
  hot_work: ['special', '1', '2'],
  confined_space: ['single'],
  blind_plate: ['single'],
  work_at_height: ['I', 'II', 'III', 'IV'],
  lifting: ['1', '2', '3'],
  temporary_electricity: ['single'],
  excavation: ['single'],
  road_breaking: ['single'],
};

/**
 * GB 30871 classes work at height by the height of the work surface: I 2–5 m, II over 5 to 15 m,
 * III over 15 to 30 m, IV over 30 m. Below 2 m it is not work at height and needs no such permit.
 */
export const WORK_AT_HEIGHT_FLOOR_METRES = 2;
export function heightClassFor(metres: number): 'I' | 'II' | 'III' | 'IV' | null {
  if (metres < WORK_AT_HEIGHT_FLOOR_METRES) return null;
  if (metres <= 5) return 'I';
  if (metres <= 15) return 'II';
  if (metres <= 30) return 'III';
  return 'IV';
}

/**
 * GB 30871 lifting levels by the load's mass: 1 over 100 t, 2 from 40 to 100 t, 3 under 40 t.
 * Under 10 t no permit is issued: the lift is covered by a risk analysis only.
 */
export const LIFTING_PERMIT_FLOOR_TONNES = 10;
export function liftingLevelFor(tonnes: number): '1' | '2' | '3' | null {
  if (tonnes < LIFTING_PERMIT_FLOOR_TONNES) return null;
  if (tonnes > 100) return '1';
  if (tonnes >= 40) return '2';
  return '3';
}

/**
 * Outdoor work stops in strong wind: hot work and work at height at Beaufort force 5 (≥ 8.0 m/s),
 * lifting at force 6 (≥ 10.8 m/s). Ingest raises these alarm kinds from anemometer readings; the
 * chaincode suspends the outdoor permits they stop and refuses to start or resume them while such
 * an alarm is open in the area.
 */
export const WIND_FORCE_5_MS = 8.0;
export const WIND_FORCE_6_MS = 10.8;
export const ALARM_KIND_WIND_FORCE_5 = 'wind_at_or_above_force_5';
export const ALARM_KIND_WIND_FORCE_6 = 'wind_at_or_above_force_6';
/** Operations that need `location.outdoor` declared, because wind stops them when outdoors. */
export const WIND_SENSITIVE_OPERATIONS: readonly OperationType[] = ['hot_work', 'work_at_height', 'lifting'];

/** Whether an open alarm of this kind stops this operation (outdoors). */
export function windStopsOperation(alarmKind: string, operationType: OperationType): boolean {
  if (alarmKind === ALARM_KIND_WIND_FORCE_6) return WIND_SENSITIVE_OPERATIONS.includes(operationType);
  if (alarmKind === ALARM_KIND_WIND_FORCE_5) return operationType === 'hot_work' || operationType === 'work_at_height';
  return false;
}

export const PERMIT_STATUSES = [
  'applied',
  'risk_assessed',
  'gas_tested',
  'signing_off',
  'signed_off',
  'issued',
  'briefed',
  'active',
  'suspended',
  'completed',
  'closed',
  'rejected',
  'cancelled',
  'revoked',
  'expired',
] as const;
export type PermitStatus = (typeof PERMIT_STATUSES)[number];

/** Statuses in which a permit still grants (or will grant) the right to work on site. */
export const LIVE_PERMIT_STATUSES: readonly PermitStatus[] = ['issued', 'briefed', 'active', 'suspended'];
/** Statuses that never change again. */
/**
 * Statuses whose clock still runs: once the validity (before issue, the planned window) has ended,
 * a permit in one of these reads as expired, whether or not anyone recorded permit:Expire yet.
 */
export const EXPIRABLE_PERMIT_STATUSES: readonly PermitStatus[] = [
  'applied',
  'risk_assessed',
  'gas_tested',
  'signing_off',
  'signed_off',
  'issued',
  'briefed',
  'active',
  'suspended',
];
export const TERMINAL_PERMIT_STATUSES: readonly PermitStatus[] = ['closed', 'rejected', 'cancelled', 'revoked', 'expired'];

export const PERMIT_ACTIONS = [
  'apply',
  'assess_risk',
  'gas_test',
  'sign_off',
  'issue',
  'brief',
  'activate',
  'suspend',
  'resume',
  'complete',
  'close',
  'reject',
  'cancel',
  'revoke',
  'expire',
] as const;
export type PermitAction = (typeof PERMIT_ACTIONS)[number];

/** Activities declared on a permit that matter for simultaneous-operation (SIMOPS) conflicts. */
export const SIMOPS_ACTIVITIES = [
  'flammable_gas_release',
  'flammable_liquid_release',
  'solvent_cleaning',
  'painting',
  'dust_sweeping',
  'tank_draining',
  'sampling',
] as const;
export type SimopsActivity = (typeof SIMOPS_ACTIVITIES)[number];

/**
 * Why work stopped. `monitoring_overdue`: the continuous gas reading (特级 hot work, confined space)
 * was not recorded within its interval; the chaincode accepts it only once the reading is overdue.
 */
export const SUSPENSION_REASONS = ['interruption', 'gas_alarm', 'alarm', 'weather', 'guardian_left', 'monitoring_overdue', 'violation', 'other'] as const;
export type SuspensionReason = (typeof SUSPENSION_REASONS)[number];

/** Flammable-gas criterion classes: the gas's LEL is ≥ 4 % vol, or < 4 % vol. */
export const LEL_CLASSES = ['lel_ge_4', 'lel_lt_4'] as const;
export type LelClass = (typeof LEL_CLASSES)[number];

/** Certificate categories (作业类别) used by the default templates. Templates may name others. */
export const CERTIFICATE_CATEGORIES = {
  electrician: '电工作业',
  welding_cutting: '焊接与热切割作业',
  work_at_height: '高处作业',
  lifting_equipment: '起重机械作业',
  hazardous_chemicals: '危险化学品安全作业',
  // The enterprise's own training certificate for guardians (监护人); not a state-issued category.
  guardian: '监护人培训合格',
} as const;

export const CERTIFICATE_STATUSES = ['valid', 'suspended', 'revoked'] as const;
export type CertificateStatus = (typeof CERTIFICATE_STATUSES)[number];
export const WORKER_STATUSES = ['active', 'suspended', 'left'] as const;
export type WorkerStatus = (typeof WORKER_STATUSES)[number];

/**
 * `ingest_service`: not a field device but the key an ingest service signs gradings with; it can
 * never be the device an alarm comes from. `credential_office`: the key an enterprise's credential
 * office signs worker codes with; likewise never a source of alarms or gate checks.
 */
export const DEVICE_KINDS = ['camera', 'sensor', 'gate', 'ingest_service', 'credential_office'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];
export const DEVICE_STATUSES = ['active', 'disabled'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export const ALARM_STATUSES = ['open', 'acknowledged', 'closed'] as const;
export type AlarmStatus = (typeof ALARM_STATUSES)[number];
export const DETECTION_VERDICTS = ['true_positive', 'false_positive'] as const;
export type DetectionVerdict = (typeof DETECTION_VERDICTS)[number];

/** The permit step a piece of evidence belongs to. */
export const EVIDENCE_STEPS = [
  'application',
  'risk_assessment',
  'gas_test',
  'sign_off',
  'issue',
  'briefing',
  'gate_check',
  'execution',
  'suspension',
  'resume',
  'completion',
  'closure',
] as const;
export type EvidenceStep = (typeof EVIDENCE_STEPS)[number];

/** Special value of a sign-off step's department: the unit where the work happens. */
export const WORK_UNIT_DEPARTMENT = '$work_unit';
