import { z } from 'zod';
import {
  CERTIFICATE_STATUSES,
  DETECTION_VERDICTS,
  DEVICE_KINDS,
  EVIDENCE_STEPS,
  heightClassFor,
  LEL_CLASSES,
  LIFTING_PERMIT_FLOOR_TONNES,
  liftingLevelFor,
  OPERATION_TYPES,
  SIMOPS_ACTIVITIES,
  SUSPENSION_REASONS,
  WIND_SENSITIVE_OPERATIONS,
  WORK_AT_HEIGHT_FLOOR_METRES,
  WORKER_STATUSES,
  type OperationType,
} from './domain';
import { ROLES } from './organizations';

/**
 * Input schemas of every chaincode transaction. Each transaction takes one JSON argument that
 * must parse with its schema; objects are strict so that a stray field (say, a name) is refused
 * instead of silently stored. Personal fields travel only in transient data (see the
 * `*Transient` schemas).
 */

export const idSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'use 1-64 characters of A-Z, a-z, 0-9, ".", "_", ":" or "-"');
export const permitNoSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$/, 'use 3-64 characters of A-Z, a-z, 0-9, ".", "_" or "-"');
/** HMAC-SHA256 of the ID number with the enterprise's key, as 64 lowercase hex characters. */
export const workerIdSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be an HMAC-SHA256 as 64 lowercase hex characters');
export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 as 64 lowercase hex characters');
export const isoTimeSchema = z.iso.datetime({ message: 'must be an ISO-8601 UTC timestamp such as 2026-01-31T08:00:00Z' });
export const textSchema = (max: number) => z.string().trim().min(1).max(max);
/** CIDv0 (Qm…, base58btc) or CIDv1 in base32 (b…). */
export const cidSchema = z
  .string()
  .regex(/^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{58,})$/, 'must be an IPFS CID (CIDv0 Qm… or CIDv1 base32 b…)');
export const ethAddressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte address');
export const bytes32Schema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x followed by 64 hex characters');

const departmentSchema = z.string().regex(/^(\$work_unit|[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/);

// ---------------------------------------------------------------- templates and policy

export const signOffStepSchema = z.strictObject({
  stepId: idSchema,
  name: textSchema(200),
  kind: z.enum(['review', 'cosign', 'approval']),
  role: z.enum(ROLES),
  department: departmentSchema.nullable(),
  distinctSigners: z.number().int().min(1).max(10),
  atSite: z.boolean(),
});

export const gasTestRuleSchema = z.strictObject({
  required: z.boolean(),
  maxAgeMinutes: z.number().int().min(1).max(24 * 60),
  retestAfterInterruptionMinutes: z.number().int().min(1).max(24 * 60),
  retestEveryMinutes: z.number().int().min(1).max(7 * 24 * 60),
  flammableMaxVolPct: z.strictObject({ lel_ge_4: z.number().min(0).max(100), lel_lt_4: z.number().min(0).max(100) }),
  oxygen: z
    .strictObject({
      minVolPct: z.number().min(0).max(100),
      maxVolPct: z.number().min(0).max(100),
      absoluteMaxVolPct: z.number().min(0).max(100),
    })
    .refine((o) => o.minVolPct <= o.maxVolPct && o.maxVolPct <= o.absoluteMaxVolPct, 'need minVolPct ≤ maxVolPct ≤ absoluteMaxVolPct')
    .nullable(),
  continuousMonitoringIntervalMinutes: z.number().int().min(1).nullable(),
});

export const publishTemplateInput = z
  .strictObject({
    operationType: z.enum(OPERATION_TYPES),
    level: z.string().min(1).max(16),
    title: textSchema(200),
    maxValidityMinutes: z.number().int().min(1).max(30 * 24 * 60),
    signOffSteps: z.array(signOffStepSchema).min(1).max(30),
    gasTest: gasTestRuleSchema,
    requiredCertificateCategories: z.array(idSchema).max(10),
    guardianCertificateCategories: z.array(idSchema).max(10).default([]),
    gateCheckRequired: z.boolean(),
  })
  .refine((t) => new Set(t.signOffSteps.map((s) => s.stepId)).size === t.signOffSteps.length, 'stepId values must be unique');
export type PublishTemplateInput = z.infer<typeof publishTemplateInput>;

export const getTemplateInput = z.strictObject({
  operationType: z.enum(OPERATION_TYPES),
  level: z.string().min(1).max(16),
  version: z.number().int().min(1).optional(),
});

const simopsSelectorSchema = z
  .strictObject({ operationType: z.enum(OPERATION_TYPES).optional(), activity: z.enum(SIMOPS_ACTIVITIES).optional() })
  .refine((s) => (s.operationType === undefined) !== (s.activity === undefined), 'give exactly one of operationType or activity');

export const simopsRuleSchema = z.strictObject({
  ruleId: idSchema,
  a: simopsSelectorSchema,
  b: simopsSelectorSchema,
  withinMetres: z.number().min(0).max(10000).nullable(),
  sameDike: z.boolean(),
  samePipeline: z.boolean(),
  fireExplosionZoneOnly: z.boolean(),
});

const localDateSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a local date YYYY-MM-DD');
const minuteOfDaySchema = z.number().int().min(0).max(24 * 60 - 1);
export const workCalendarSchema = z.strictObject({
  utcOffsetMinutes: z.number().int().min(-12 * 60).max(14 * 60),
  nightStartMinute: minuteOfDaySchema,
  nightEndMinute: minuteOfDaySchema,
  restDays: z.array(z.number().int().min(0).max(6)).max(7),
  holidays: z.array(localDateSchema).max(400),
  workdays: z.array(localDateSchema).max(100),
});

export const publishPolicyInput = z.strictObject({
  alarmSuspendMaxGrade: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
  gateCheckWindowMinutes: z.number().int().min(1).max(24 * 60),
  faceMatchMinScoreBp: z.number().int().min(0).max(10000),
  personalDataAccessWindowMinutes: z.number().int().min(1).max(24 * 60),
  simopsRules: z.array(simopsRuleSchema).max(100),
  workCalendar: workCalendarSchema.nullable().default(null),
});
export type PublishPolicyInput = z.infer<typeof publishPolicyInput>;

// ---------------------------------------------------------------- permits

export const permitRefInput = z.strictObject({ permitNo: permitNoSchema });

/**
 * The measures that decide a level must agree with it (GB 30871): the height for work at height,
 * the load for lifting (and no permit under 10 t). Outdoor or not must be declared where wind
 * stops the work. Only the type's own measure may be given, so nothing is recorded that no rule reads.
 */
function checkOperationMeasures(
  p: { operationType: OperationType; level: string; workHeightMetres: number | null; liftLoadTonnes: number | null; location: { outdoor: boolean | null } },
  ctx: z.RefinementCtx,
): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (p.operationType === 'work_at_height') {
    if (p.workHeightMetres === null) issue(['workHeightMetres'], 'work at height needs workHeightMetres, the height of the work surface in metres');
    else {
      const cls = heightClassFor(p.workHeightMetres);
      if (cls === null) issue(['workHeightMetres'], `below ${WORK_AT_HEIGHT_FLOOR_METRES} m is not work at height; no work-at-height permit is needed`);
      else if (cls !== p.level) issue(['level'], `${p.workHeightMetres} m is class ${cls}, not ${p.level}; apply for class ${cls} (hazard factors raise it by themselves)`);
    }
  } else if (p.workHeightMetres !== null) issue(['workHeightMetres'], 'workHeightMetres is only for work at height');
  if (p.operationType === 'lifting') {
    if (p.liftLoadTonnes === null) issue(['liftLoadTonnes'], 'lifting needs liftLoadTonnes, the mass of the load in tonnes');
    else {
      const lvl = liftingLevelFor(p.liftLoadTonnes);
      if (lvl === null) issue(['liftLoadTonnes'], `a lift under ${LIFTING_PERMIT_FLOOR_TONNES} t needs no lifting permit, only a risk analysis`);
      else if (lvl !== p.level) issue(['level'], `${p.liftLoadTonnes} t is lifting level ${lvl}, not ${p.level}; apply for level ${lvl}`);
    }
  } else if (p.liftLoadTonnes !== null) issue(['liftLoadTonnes'], 'liftLoadTonnes is only for lifting');
  if (WIND_SENSITIVE_OPERATIONS.includes(p.operationType) && p.location.outdoor === null) {
    issue(['location', 'outdoor'], `say whether the ${p.operationType.replace(/_/g, ' ')} is outdoors (location.outdoor): strong wind stops outdoor work`);
  }
}

export const applyPermitInput = z
  .strictObject({
    permitNo: permitNoSchema,
    operationType: z.enum(OPERATION_TYPES),
    level: z.string().min(1).max(16),
    nightOrHoliday: z.boolean().default(false),
    /** Work at height under hazard factors (wind ≥ 8 m/s, ≤ 5 °C, O₂ < 19.5 % …): one class higher. */
    heightHazardFactors: z.boolean().default(false),
    /** Work at height: height of the work surface in metres; it must fall in the requested class. */
    workHeightMetres: z.number().finite().min(0).max(1000).nullable().default(null),
    /** Lifting: mass of the load in tonnes; it must fall in the requested level, and be ≥ 10 t. */
    liftLoadTonnes: z.number().finite().min(0).max(100_000).nullable().default(null),
    location: z.strictObject({
      siteId: idSchema,
      zoneId: idSchema,
      coordinates: z.strictObject({ x: z.number().finite(), y: z.number().finite() }).nullable().default(null),
      fireExplosionZone: z.boolean(),
      /** Required for hot work, work at height and lifting: outdoors, strong wind stops them. */
      outdoor: z.boolean().nullable().default(null),
      dikeId: idSchema.nullable().default(null),
      pipelineId: idSchema.nullable().default(null),
    }),
    workUnit: idSchema,
    description: textSchema(2000),
    plannedStart: isoTimeSchema,
    plannedEnd: isoTimeSchema,
    workers: z.array(workerIdSchema).min(1).max(50),
    personInChargeId: workerIdSchema,
    guardianId: workerIdSchema,
    hazards: z.array(z.strictObject({ hazardId: idSchema, description: textSchema(500) })).min(1).max(50),
    measures: z
      .array(z.strictObject({ measureId: idSchema, hazardId: idSchema.nullable().default(null), description: textSchema(500) }))
      .min(1)
      .max(100),
    activities: z.array(z.enum(SIMOPS_ACTIVITIES)).max(SIMOPS_ACTIVITIES.length).default([]),
    relatedPermitNos: z.array(permitNoSchema).max(20).default([]),
    servesPermitNo: permitNoSchema.nullable().default(null),
  })
  .refine((p) => new Set(p.workers).size === p.workers.length, { message: 'workers must not repeat', path: ['workers'] })
  .refine((p) => new Set(p.measures.map((m) => m.measureId)).size === p.measures.length, {
    message: 'measureId values must be unique',
    path: ['measures'],
  })
  .superRefine(checkOperationMeasures);
export type ApplyPermitInput = z.infer<typeof applyPermitInput>;

export const assessRiskInput = z.strictObject({
  permitNo: permitNoSchema,
  confirmations: z.array(z.strictObject({ measureId: idSchema, confirmedBy: workerIdSchema })).min(1).max(100),
});

export const toxicReadingSchema = z.strictObject({
  substance: textSchema(64),
  measured: z.number().min(0).finite(),
  limit: z.number().positive().finite(),
  unit: z.enum(['ppm', 'mg/m3']),
});

export const recordGasTestInput = z.strictObject({
  permitNo: permitNoSchema,
  testId: idSchema,
  sampleTakenAt: isoTimeSchema,
  lelClass: z.enum(LEL_CLASSES),
  flammableVolPct: z.number().min(0).max(100),
  oxygenVolPct: z.number().min(0).max(100).nullable().default(null),
  toxic: z.array(toxicReadingSchema).max(20).default([]),
});
export type RecordGasTestInput = z.infer<typeof recordGasTestInput>;

export const signOffInput = z.strictObject({
  permitNo: permitNoSchema,
  stepId: idSchema,
  atSite: z.boolean().default(false),
  opinion: z.string().trim().max(1000).default(''),
});

export const briefInput = z.strictObject({ permitNo: permitNoSchema, briefedWorkerIds: z.array(workerIdSchema).min(1).max(50) });

export const suspendInput = z.strictObject({
  permitNo: permitNoSchema,
  reason: z.enum(SUSPENSION_REASONS),
  note: z.string().trim().max(1000).default(''),
});

export const completeInput = z.strictObject({ permitNo: permitNoSchema, siteRestored: z.literal(true) });
export const closeInput = z.strictObject({ permitNo: permitNoSchema, accepted: z.literal(true), note: z.string().trim().max(1000).default('') });
export const reasonedPermitInput = z.strictObject({ permitNo: permitNoSchema, reason: textSchema(1000) });
export const flagPermitInput = z.strictObject({ permitNo: permitNoSchema, flagId: idSchema, reason: textSchema(1000) });

// ---------------------------------------------------------------- credentials

export const registerWorkerInput = z.strictObject({ workerId: workerIdSchema });
export const workerStatusInput = z.strictObject({ workerId: workerIdSchema, status: z.enum(WORKER_STATUSES), reason: textSchema(500) });

/** Transient key `personal` of StoreWorkerPersonalData. */
export const workerPersonalTransient = z.strictObject({
  name: textSchema(200),
  idNumber: textSchema(64),
  phone: z.string().max(32).optional(),
  /** Random ≥ 128-bit value from the client: Fabric publishes a hash of the private value, and the salt keeps that hash from being brute-forced. */
  salt: z.string().min(22).max(128),
});
export const storeWorkerPersonalDataInput = z.strictObject({ workerId: workerIdSchema });

export const addCertificateInput = z
  .strictObject({
    certificateId: idSchema,
    workerId: workerIdSchema,
    category: idSchema,
    item: textSchema(200),
    authority: textSchema(200),
    validFrom: isoTimeSchema,
    validUntil: isoTimeSchema,
    reviewDue: isoTimeSchema,
    scanSha256: sha256Schema,
  })
  .refine((c) => Date.parse(c.validFrom) < Date.parse(c.validUntil), { message: 'validFrom must be before validUntil', path: ['validUntil'] })
  .refine((c) => Date.parse(c.reviewDue) <= Date.parse(c.validUntil), { message: 'reviewDue must not be after validUntil', path: ['reviewDue'] });
export type AddCertificateInput = z.infer<typeof addCertificateInput>;

/** Transient key `personal` of StoreCertificateNumber. */
export const certificatePersonalTransient = z.strictObject({ certificateNo: textSchema(64), salt: z.string().min(22).max(128) });
export const storeCertificateNumberInput = z.strictObject({ certificateId: idSchema });

export const certificateStatusInput = z.strictObject({
  certificateId: idSchema,
  status: z.enum(CERTIFICATE_STATUSES),
  reason: textSchema(500),
});
export const certificateReviewInput = z.strictObject({ certificateId: idSchema, nextReviewDue: isoTimeSchema });
/** A practical exam passed again, after six months or more off the job (when it was taken). */
export const practicalExamInput = z.strictObject({ certificateId: idSchema, examinedAt: isoTimeSchema });

export const gateCheckInput = z.strictObject({
  gateCheckId: idSchema,
  permitNo: permitNoSchema,
  workerId: workerIdSchema,
  qr: z.strictObject({ passed: z.boolean() }),
  face: z.strictObject({
    scoreBp: z.number().int().min(0).max(10000),
    deviceId: idSchema,
    templateSha256: sha256Schema.nullable().default(null),
  }),
  health: z.strictObject({ passed: z.boolean() }),
});
export type GateCheckInput = z.infer<typeof gateCheckInput>;

export const logPersonalDataAccessInput = z.strictObject({
  accessId: idSchema,
  subject: z.strictObject({ kind: z.enum(['worker', 'certificate']), id: idSchema }),
  purpose: textSchema(500),
});
export const readPersonalDataInput = z.strictObject({
  accessId: idSchema,
});

// ---------------------------------------------------------------- evidence

export const recordEvidenceInput = z.strictObject({
  permitNo: permitNoSchema,
  step: z.enum(EVIDENCE_STEPS),
  cid: cidSchema,
  sha256: sha256Schema,
  sizeBytes: z.number().int().min(1).max(1e13),
  mediaType: z.string().regex(/^[a-z]+\/[A-Za-z0-9.+-]+$/, 'must be a media type such as video/mp4'),
  capturedAt: isoTimeSchema,
  deviceId: idSchema.nullable().default(null),
});

// ---------------------------------------------------------------- devices and alarms

export const registerDeviceInput = z.strictObject({
  deviceId: idSchema,
  siteId: idSchema,
  areaId: idSchema,
  address: ethAddressSchema,
  kind: z.enum(DEVICE_KINDS),
});
export const deviceStatusInput = z.strictObject({ deviceId: idSchema, status: z.enum(['active', 'disabled']), reason: textSchema(500) });

export const signedAlarmSchema = z.strictObject({
  alarmId: idSchema,
  deviceId: idSchema,
  siteId: idSchema,
  areaId: idSchema,
  grade: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
  kind: idSchema,
  scoreBp: z.number().int().min(0).max(10000),
  modelVersion: z.string().max(64),
  modelSha256: bytes32Schema,
  inputSha256: bytes32Schema,
  clipCid: z.union([z.literal(''), cidSchema]),
  observedAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
export const recordAlarmInput = z.strictObject({
  alarm: signedAlarmSchema,
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte 0x-prefixed ECDSA signature'),
});
export const alarmRefInput = z.strictObject({ alarmId: idSchema, note: z.string().trim().max(1000).default('') });
export const reviewDetectionInput = z.strictObject({ alarmId: idSchema, verdict: z.enum(DETECTION_VERDICTS), note: z.string().trim().max(1000).default('') });

export const listInput = z.strictObject({ siteId: idSchema, areaId: idSchema.optional() });
export const workerRefInput = z.strictObject({ workerId: workerIdSchema });
export const certificateRefInput = z.strictObject({ certificateId: idSchema });
export const deviceRefInput = z.strictObject({ deviceId: idSchema });
export const alarmIdInput = z.strictObject({ alarmId: idSchema });
export const permitNoListInput = z.strictObject({ permitNo: permitNoSchema });
export const emptyInput = z.strictObject({});
export const erasePersonalDataInput = z.strictObject({
  subject: z.strictObject({ kind: z.enum(['worker', 'certificate']), id: idSchema }),
  reason: textSchema(500),
});
