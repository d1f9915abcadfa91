import { z } from 'zod';
import { CLIP_STATUSES } from './alarm-signature';
import { levelSignOffDescription } from './default-templates';
import {
  CERTIFICATE_STATUSES,
  DETECTION_VERDICTS,
  DEVICE_KINDS,
  EVIDENCE_STEPS,
  heightClassFor,
  LEL_CLASSES,
  LIFTING_PERMIT_FLOOR_TONNES,
  liftingLevelFor,
  OPERATION_LEVELS,
  OPERATION_TYPES,
  type OperationType,
  SIMOPS_ACTIVITIES,
  SUSPENSION_REASONS,
  WIND_SENSITIVE_OPERATIONS,
  WORK_AT_HEIGHT_FLOOR_METRES,
  WORKER_STATUSES,
} from './domain';
import { ROLES } from './organizations';
import { GATE_PHOTO_MEDIA_TYPES } from './worker-code';

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
/**
 * The instants the ledger takes. ISO-8601's four-digit years allow 0000, which PostgreSQL (the
 * regulator's mirror) does not have: a certificate valid from 0000-01-01, endorsed as valid, would
 * stop the regulator's indexer at its block. Nothing the ledger records lies before the Unix epoch,
 * and the regulator's queries take the same range.
 */
export const EARLIEST_LEDGER_TIME = '1970-01-01T00:00:00Z';
export const LATEST_LEDGER_TIME = '9999-12-31T23:59:59.999Z';
export const LEDGER_TIME_RANGE = `between ${EARLIEST_LEDGER_TIME} and ${LATEST_LEDGER_TIME}`;
/**
 * The same range as epoch milliseconds, for the instants devices sign (uint64 in EIP-712): a larger
 * one would be committed and then be no date the regulator's mirror can hold.
 */
export const epochMsSchema = z
  .number()
  .int()
  .min(Date.parse(EARLIEST_LEDGER_TIME), `must be epoch milliseconds ${LEDGER_TIME_RANGE}`)
  .max(Date.parse(LATEST_LEDGER_TIME), `must be epoch milliseconds ${LEDGER_TIME_RANGE}`);
export const isoTimeSchema = z.iso
  .datetime({ message: 'must be an ISO-8601 UTC timestamp such as 2026-01-31T08:00:00Z' })
  .refine((v) => Date.parse(v) >= Date.parse(EARLIEST_LEDGER_TIME) && Date.parse(v) <= Date.parse(LATEST_LEDGER_TIME), `must be ${LEDGER_TIME_RANGE}`);
export const textSchema = (max: number) => z.string().trim().min(1).max(max);
/** CIDv0 (Qm…, base58btc) or CIDv1 in base32 (b…). */
export const cidSchema = z.string().regex(/^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{58,})$/, 'must be an IPFS CID (CIDv0 Qm… or CIDv1 base32 b…)');
export const ethAddressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte address');
export const bytes32Schema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x followed by 64 hex characters');
const ecdsaSignatureSchema = z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte 0x-prefixed ECDSA signature');

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
  maxAgeMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60),
  retestAfterInterruptionMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60),
  retestEveryMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60),
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

// The step-id check sits on the array, not the object, so the gateway can take operationType and
// level from the path (omit works on an object without refinements).
export const publishTemplateInput = z.strictObject({
  operationType: z.enum(OPERATION_TYPES),
  level: z.string().min(1).max(16),
  title: textSchema(200),
  maxValidityMinutes: z
    .number()
    .int()
    .min(1)
    .max(30 * 24 * 60),
  specialCaseMaxValidityMinutes: z
    .number()
    .int()
    .min(1)
    .max(30 * 24 * 60)
    .nullable()
    .default(null)
    .describe(
      'the longest validity of an application flagged as a special case with a recorded reason (temporary electricity: 30 days); null: no special case',
    ),
  signOffSteps: z
    .array(signOffStepSchema)
    .min(1)
    .max(30)
    .refine((steps) => new Set(steps.map((s) => s.stepId)).size === steps.length, 'stepId values must be unique'),
  gasTest: gasTestRuleSchema,
  requiredCertificateCategories: z.array(idSchema).max(10),
  guardianCertificateCategories: z.array(idSchema).max(10).default([]),
  gateCheckRequired: z.boolean(),
});
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
const minuteOfDaySchema = z
  .number()
  .int()
  .min(0)
  .max(24 * 60 - 1);
export const workCalendarSchema = z.strictObject({
  utcOffsetMinutes: z
    .number()
    .int()
    .min(-12 * 60)
    .max(14 * 60),
  nightStartMinute: minuteOfDaySchema,
  nightEndMinute: minuteOfDaySchema,
  restDays: z.array(z.number().int().min(0).max(6)).max(7),
  holidays: z.array(localDateSchema).max(400),
  workdays: z.array(localDateSchema).max(100),
});

export const publishPolicyInput = z.strictObject({
  alarmSuspendMaxGrade: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
  gateCheckWindowMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60),
  faceMatchMinScoreBp: z.number().int().min(0).max(10000),
  personalDataAccessWindowMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60),
  simopsRules: z.array(simopsRuleSchema).max(100),
  workCalendar: workCalendarSchema.nullable().default(null),
});
export type PublishPolicyInput = z.infer<typeof publishPolicyInput>;

// ---------------------------------------------------------------- permits

export const permitRefInput = z.strictObject({ permitNo: permitNoSchema });

const words = (operationType: OperationType) => operationType.replace(/_/g, ' ');

/** Outdoors or not must be declared where wind stops the work. */
function permitLocation(operationType: OperationType) {
  const outdoor = WIND_SENSITIVE_OPERATIONS.includes(operationType)
    ? z
        .boolean({
          error: (iss) =>
            iss.input === undefined || iss.input === null
              ? `say whether the ${words(operationType)} is outdoors (location.outdoor): strong wind stops outdoor work`
              : 'location.outdoor must be true or false',
        })
        .describe('required: outdoors, strong wind stops this work (force 5 for hot work and work at height, force 6 for lifting)')
    : z.boolean().nullable().default(null);
  return z.strictObject({
    siteId: idSchema,
    zoneId: idSchema,
    coordinates: z.strictObject({ x: z.number().finite(), y: z.number().finite() }).nullable().default(null),
    fireExplosionZone: z.boolean(),
    outdoor,
    dikeId: idSchema.nullable().default(null),
    pipelineId: idSchema.nullable().default(null),
  });
}

/** A measure no rule of this operation reads is refused rather than stored. */
const onlyFor = (field: string, what: string) =>
  z
    .null({ error: `${field} is only for ${what}` })
    .default(null)
    .describe(`only for ${what}: leave it out`);

/**
 * GB 30871 classes work at height by the height of the work surface (I 2–5 m, II over 5 to 15,
 * III over 15 to 30, IV over 30): each class's range is part of its schema, so a generated request
 * is in range, and a height outside it is told which class it is.
 */
function workHeightFor(level: 'I' | 'II' | 'III' | 'IV') {
  const error = (iss: { input?: unknown }) => {
    const m = iss.input;
    if (typeof m !== 'number') return 'work at height needs workHeightMetres, the height of the work surface in metres';
    const cls = heightClassFor(m);
    if (cls === null) return `below ${WORK_AT_HEIGHT_FLOOR_METRES} m is not work at height; no work-at-height permit is needed`;
    if (cls !== level) return `${m} m is class ${cls}, not ${level}; apply for class ${cls} (hazard factors raise it by themselves)`;
    return 'workHeightMetres must be at most 1000';
  };
  const n = z.number({ error });
  const ranged = {
    I: n.min(2, { error }).max(5, { error }),
    II: n.gt(5, { error }).max(15, { error }),
    III: n.gt(15, { error }).max(30, { error }),
    IV: n.gt(30, { error }).max(1000, { error }),
  }[level];
  return ranged.describe('height of the work surface in metres; it must fall in the class (I 2–5, II over 5 to 15, III over 15 to 30, IV over 30)');
}

/** GB 30871 lifting levels by the load's mass: 1 over 100 t, 2 from 40 to 100 t, 3 from 10 to under 40 t. */
function liftLoadFor(level: '1' | '2' | '3') {
  const error = (iss: { input?: unknown }) => {
    const t = iss.input;
    if (typeof t !== 'number') return 'lifting needs liftLoadTonnes, the mass of the load in tonnes';
    const lvl = liftingLevelFor(t);
    if (lvl === null) return `a lift under ${LIFTING_PERMIT_FLOOR_TONNES} t needs no lifting permit, only a risk analysis`;
    if (lvl !== level) return `${t} t is lifting level ${lvl}, not ${level}; apply for level ${lvl}`;
    return 'liftLoadTonnes must be at most 100000';
  };
  const n = z.number({ error });
  const ranged = {
    '1': n.gt(100, { error }).max(100_000, { error }),
    '2': n.min(40, { error }).max(100, { error }),
    '3': n.min(LIFTING_PERMIT_FLOOR_TONNES, { error }).lt(40, { error }),
  }[level];
  return ranged.describe('mass of the load in tonnes; it must fall in the level (1 over 100, 2 from 40 to 100, 3 from 10 to under 40; under 10 t no permit)');
}

const OPERATION_TITLES: Record<OperationType, string> = {
  hot_work: 'Hot work (动火)',
  confined_space: 'Confined space entry (受限空间)',
  blind_plate: 'Blind plate (盲板抽堵)',
  work_at_height: 'Work at height (高处作业)',
  lifting: 'Lifting (吊装)',
  temporary_electricity: 'Temporary electricity (临时用电)',
  excavation: 'Excavation (动土)',
  road_breaking: 'Road breaking (断路)',
};

/**
 * One application per operation type (and, where a measure decides the level, per level), with
 * exactly the fields the chaincode requires of it. Levels name their sign-off departments.
 */
function permitApplication<Op extends OperationType>(
  operationType: Op,
  levels: readonly [string, ...string[]],
  measures: {
    workHeightMetres?: z.ZodType<number, number>;
    liftLoadTonnes?: z.ZodType<number, number>;
    servesPermitNo?: z.ZodType<string | null, string | null | undefined>;
  } = {},
) {
  const id = levels.length === 1 && OPERATION_LEVELS[operationType].length > 1 ? `ApplyPermit.${operationType}.${levels[0]}` : `ApplyPermit.${operationType}`;
  return z
    .strictObject({
      permitNo: permitNoSchema,
      operationType: z.literal(operationType),
      level: z.enum(levels).describe(levelSignOffDescription(operationType, levels)),
      /** Hot work at night, on rest days or holidays: one level higher. */
      nightOrHoliday: z
        .boolean()
        .default(false)
        .describe(
          'hot work at night, on a rest day or holiday: governed by the template one level higher (a ' +
            'published work calendar also finds it); other operations ignore it',
        ),
      /** Work at height under hazard factors (wind ≥ 8 m/s, ≤ 5 °C, O₂ < 19.5 % …): one class higher. */
      heightHazardFactors: z
        .boolean()
        .default(false)
        .describe('work at height under hazard factors (wind ≥ 8 m/s, ≤ 5 °C, O₂ < 19.5 % …): one class higher; other operations ignore it'),
      workHeightMetres: measures.workHeightMetres ?? onlyFor('workHeightMetres', 'work at height'),
      liftLoadTonnes: measures.liftLoadTonnes ?? onlyFor('liftLoadTonnes', 'lifting'),
      location: permitLocation(operationType),
      workUnit: idSchema.describe('the unit where the work happens; steps of department `$work_unit` are signed by its approver'),
      description: textSchema(2000),
      plannedStart: isoTimeSchema,
      plannedEnd: isoTimeSchema,
      workers: z.array(workerIdSchema).min(1).max(50),
      personInChargeId: workerIdSchema,
      guardianId: workerIdSchema,
      hazards: z
        .array(z.strictObject({ hazardId: idSchema, description: textSchema(500) }))
        .min(1)
        .max(50),
      measures: z
        .array(z.strictObject({ measureId: idSchema, hazardId: idSchema.nullable().default(null), description: textSchema(500) }))
        .min(1)
        .max(100),
      activities: z.array(z.enum(SIMOPS_ACTIVITIES)).max(SIMOPS_ACTIVITIES.length).default([]),
      relatedPermitNos: z.array(permitNoSchema).max(20).default([]),
      servesPermitNo: measures.servesPermitNo ?? onlyFor('servesPermitNo', 'temporary electricity permits'),
      specialCaseReason: textSchema(500)
        .nullable()
        .default(null)
        .describe(
          "why this is a special case allowed the template's longer validity " +
            '(specialCaseMaxValidityMinutes; temporary electricity: 30 days instead of 15); recorded ' +
            'on the permit. Null: the normal maximum',
        ),
    })
    .meta({ id, title: `${OPERATION_TITLES[operationType]}${id.split('.').length > 2 ? `, level ${levels[0]}` : ''}` });
}

const singleOrLevels = (op: OperationType) => OPERATION_LEVELS[op] as unknown as readonly [string, ...string[]];
const levelUnionError = (op: OperationType) => (iss: { code?: string }) =>
  iss.code === 'invalid_union' ? `level must be one of ${OPERATION_LEVELS[op].join(', ')} for ${words(op)}` : undefined;

/**
 * A permit application: a union discriminated by `operationType`, each member strict with its own
 * level enum and the fields its rules read (location.outdoor where wind stops the work, the height
 * for work at height and the load for lifting, each within its level's range; servesPermitNo only
 * for temporary electricity). Generated clients and fuzzers thus build requests the chaincode accepts.
 */
export const applyPermitInput = z
  .discriminatedUnion(
    'operationType',
    [
      permitApplication('hot_work', singleOrLevels('hot_work')),
      permitApplication('confined_space', singleOrLevels('confined_space')),
      permitApplication('blind_plate', singleOrLevels('blind_plate')),
      z
        .discriminatedUnion(
          'level',
          (['I', 'II', 'III', 'IV'] as const).map((l) => permitApplication('work_at_height', [l], { workHeightMetres: workHeightFor(l) })) as [
            ReturnType<typeof permitApplication>,
            ...ReturnType<typeof permitApplication>[],
          ],
          { error: levelUnionError('work_at_height') },
        )
        .meta({ id: 'ApplyPermit.work_at_height', title: OPERATION_TITLES.work_at_height }),
      z
        .discriminatedUnion(
          'level',
          (['1', '2', '3'] as const).map((l) => permitApplication('lifting', [l], { liftLoadTonnes: liftLoadFor(l) })) as [
            ReturnType<typeof permitApplication>,
            ...ReturnType<typeof permitApplication>[],
          ],
          { error: levelUnionError('lifting') },
        )
        .meta({ id: 'ApplyPermit.lifting', title: OPERATION_TITLES.lifting }),
      permitApplication('temporary_electricity', singleOrLevels('temporary_electricity'), {
        servesPermitNo: permitNoSchema.nullable().default(null).describe('the permit this supply serves; the validity never outlasts it'),
      }),
      permitApplication('excavation', singleOrLevels('excavation')),
      permitApplication('road_breaking', singleOrLevels('road_breaking')),
    ],
    { error: (iss) => (iss.code === 'invalid_union' ? `operationType must be one of ${OPERATION_TYPES.join(', ')}` : undefined) },
  )
  .superRefine((p, ctx) => {
    if (new Set(p.workers).size !== p.workers.length) ctx.addIssue({ code: 'custom', path: ['workers'], message: 'workers must not repeat' });
    if (new Set(p.measures.map((m) => m.measureId)).size !== p.measures.length)
      ctx.addIssue({ code: 'custom', path: ['measures'], message: 'measureId values must be unique' });
  })
  .meta({ id: 'ApplyPermit' });
export type ApplyPermitInput = z.infer<typeof applyPermitInput>;

export const assessRiskInput = z.strictObject({
  permitNo: permitNoSchema,
  confirmations: z
    .array(z.strictObject({ measureId: idSchema, confirmedBy: workerIdSchema }))
    .min(1)
    .max(100),
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

/**
 * A gate check as the gate device signed it (EIP-712 `GateCheck`), with the worker code it
 * scanned. The code carries no name or ID number; the chaincode re-checks it and the worker's
 * qualification on the ledger.
 */
export const signedGateCheckInput = z.strictObject({
  check: z.strictObject({
    gateCheckId: idSchema,
    deviceId: idSchema,
    permitNo: permitNoSchema,
    role: z.enum(['worker', 'guardian']),
    codeSha256: bytes32Schema,
    decision: z.string().regex(/^(pass|[A-Z][A-Z_]{2,31})$/, "must be 'pass' or the verifier's refusal code (e.g. REVOKED)"),
    faceMatched: z.boolean(),
    healthDeclared: z.boolean(),
    biometricSha256: bytes32Schema,
    offline: z.boolean(),
    snapshotHeight: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    checkedAt: epochMsSchema,
    // Signed as version 2 when present (both or neither): the photo of the person at the gate.
    photoSha256: bytes32Schema.optional(),
    photoType: z.enum(GATE_PHOTO_MEDIA_TYPES).optional(),
  }),
  code: z.string().min(10).max(4096),
  signature: ecdsaSignatureSchema,
  /**
   * The photo as the gateway stored it in the content store, having checked its bytes against the
   * declared type and the signed sha256. Set by the gateway, never by the caller.
   */
  photo: z
    .strictObject({
      cid: cidSchema,
      sha256: sha256Schema,
      sizeBytes: z.number().int().min(1).max(1e13),
      mediaType: z.enum(GATE_PHOTO_MEDIA_TYPES),
    })
    .optional(),
});
export type SignedGateCheckInput = z.infer<typeof signedGateCheckInput>;

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
  // false only for a device that cannot sign (a site's documented opt-out): its alarms then rest
  // on the ingest service's signature alone, and the record says so.
  signsReadings: z.boolean().default(true),
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
  observedAt: epochMsSchema,
});
/**
 * Without `serviceId`: version 1, `signature` is the device's EIP-712 signature over `alarm`.
 * With `serviceId`: version 2, `signature` is the ingest service's EIP-712 `Grading` signature and
 * `reading` the device-signed message that triggered the alarm.
 */
export const recordAlarmInput = z
  .strictObject({
    alarm: signedAlarmSchema,
    signature: ecdsaSignatureSchema,
    serviceId: idSchema.optional(),
    reading: z.strictObject({ message: z.string().min(2).max(16_384), signature: ecdsaSignatureSchema }).optional(),
    // The clip of the camera's signed detection: its signed sha256 and what ingest found.
    clip: z.strictObject({ sha256: bytes32Schema, status: z.enum(CLIP_STATUSES) }).optional(),
  })
  .refine((d) => d.reading === undefined || d.serviceId !== undefined, {
    message: 'a device-signed reading comes with the serviceId of the ingest service that graded it',
    path: ['serviceId'],
  })
  .refine((d) => d.clip === undefined || d.serviceId !== undefined, {
    message: 'a clip status comes with the serviceId of the ingest service that checked the clip',
    path: ['serviceId'],
  });
export const alarmRefInput = z.strictObject({ alarmId: idSchema, note: z.string().trim().max(1000).default('') });
export const reviewDetectionInput = z.strictObject({ alarmId: idSchema, verdict: z.enum(DETECTION_VERDICTS), note: z.string().trim().max(1000).default('') });

export const listInput = z.strictObject({ siteId: idSchema, areaId: idSchema.optional() });
/** What the clock has made due across every site: the sweeper's one read per period. */
export const listDueInput = z.strictObject({ limit: z.number().int().min(1).max(1000).default(500) });
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
