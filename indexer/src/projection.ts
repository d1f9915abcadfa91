/**
 * Domain projection: chaincode events (LedgerEventEnvelope JSON) to rows of the domain tables.
 * Table-driven by event `type`: adding an event type is adding one entry to `projectors`. Every
 * event comes with the whole record after the change (a permit's since event schema 2 as the
 * transaction's write of it, not in the event), so a row is simply replaced by the newest version
 * (upsert); append-only facts (steps, sign-offs, gas tests) are inserted once by their key.
 * Only valid transactions reach this module: the caller filters invalid ones out.
 */
import type {
  Actor,
  AlarmRecord,
  CertificateRecord,
  DeviceRecord,
  LedgerEvent,
  LedgerEventEnvelope,
  LedgerEventOf,
  LedgerEventType,
  PermitRecord,
  PermitTransitionPayload,
  WorkerRecord,
} from '@compliance-ledger/schema';
import { EVENT_SCHEMA_VERSIONS_READ, PERMIT_EVENT_TYPES, permitStateKey, storableCopy, unstorableText } from '@compliance-ledger/schema';

export type Row = Record<string, unknown>;

export interface RowOp {
  table: string;
  /** Columns of the table's primary key: the conflict target. */
  key: readonly string[];
  row: Row;
  /** merge: newest version wins; ignore: the first insert wins (append-only facts). */
  onConflict: 'merge' | 'ignore';
}

export interface EventContext {
  blockNumber: number;
  txId: string;
  /** The value the event's transaction wrote to a key of its chaincode's public state; undefined when it wrote none there. */
  written?: (key: string) => Uint8Array | undefined;
}

/**
 * An event of a known type whose payload does not have the shape its projector expects (a
 * chaincode/schema mismatch). Fatal: a domain table silently missing a change would mislead the
 * regulator; the raw tables up to the previous batch stay committed and exact.
 */
export class ProjectionError extends Error {
  override readonly name = 'ProjectionError';
}

type Envelope = LedgerEventEnvelope<string, unknown>;
/** Projects one decoded event; each entry of the table receives its own event type's payload. */
export type Projector<T extends LedgerEventType = LedgerEventType> = (event: LedgerEventOf<T>, ctx: EventContext) => RowOp[];
type ProjectorTable = { readonly [T in LedgerEventType]: Projector<T> };

const json = (value: unknown): string => JSON.stringify(value);

function upsert(table: string, key: readonly string[], row: Row): RowOp {
  return { table, key, row, onConflict: 'merge' };
}
function insertOnce(table: string, key: readonly string[], row: Row): RowOp {
  return { table, key, row, onConflict: 'ignore' };
}

function permitOps(permit: PermitRecord, ctx: EventContext): RowOp[] {
  const history = permit.history ?? [];
  const first = history[0];
  const last = history[history.length - 1];
  const ops: RowOp[] = [
    upsert('permits', ['permit_no'], {
      permit_no: permit.permitNo,
      org_msp: first?.actor.mspId ?? 'unknown',
      operation_type: permit.operationType,
      level: permit.level,
      requested_level: permit.requestedLevel,
      status: permit.status,
      site_id: permit.location.siteId,
      zone_id: permit.location.zoneId,
      work_unit: permit.workUnit,
      fire_explosion_zone: permit.location.fireExplosionZone,
      night_or_holiday: permit.nightOrHoliday,
      planned_start: permit.plannedStart,
      planned_end: permit.plannedEnd,
      valid_from: permit.validFrom,
      valid_until: permit.validUntil,
      suspension_reason: permit.suspension?.reason ?? null,
      suspension_alarm_id: permit.suspension?.alarmId ?? null,
      template_version: permit.templateVersion,
      applied_at: first?.at ?? last?.at,
      status_changed_at: last?.at ?? first?.at,
      record: json(permit),
      block_number: ctx.blockNumber,
      tx_id: ctx.txId,
    }),
  ];
  for (const [i, step] of history.entries()) {
    ops.push(
      insertOnce('permit_steps', ['permit_no', 'step_index'], {
        permit_no: permit.permitNo,
        step_index: i,
        action: step.action,
        from_status: step.from,
        to_status: step.to,
        actor_msp: step.actor.mspId,
        actor_role: step.actor.role,
        at: step.at,
        tx_id: step.txId,
        block_number: ctx.blockNumber,
      }),
    );
  }
  for (const s of permit.signOffs ?? []) {
    ops.push(
      insertOnce('sign_offs', ['permit_no', 'step_id', 'tx_id'], {
        permit_no: permit.permitNo,
        step_id: s.stepId,
        tx_id: s.txId,
        actor_msp: s.actor.mspId,
        actor_role: s.actor.role,
        actor_department: s.actor.department,
        at_site: s.atSite,
        opinion: s.opinion,
        at: s.at,
        block_number: ctx.blockNumber,
      }),
    );
  }
  for (const g of permit.gasTests ?? []) {
    ops.push(
      insertOnce('gas_tests', ['permit_no', 'test_id'], {
        test_id: g.testId,
        permit_no: permit.permitNo,
        lel_class: g.lelClass,
        flammable_vol_pct: g.flammableVolPct,
        oxygen_vol_pct: g.oxygenVolPct,
        toxic: json(g.toxic),
        passed: g.passed,
        failures: json(g.failures),
        sample_taken_at: g.sampleTakenAt,
        recorded_at: g.recordedAt,
        analyst_msp: g.analyst.mspId,
        block_number: ctx.blockNumber,
        tx_id: g.txId,
      }),
    );
  }
  return ops;
}

function alarmOp(a: AlarmRecord, ctx: EventContext): RowOp {
  return upsert('alarms', ['alarm_id'], {
    alarm_id: a.alarmId,
    device_id: a.deviceId,
    device_kind: a.deviceKind,
    site_id: a.siteId,
    area_id: a.areaId,
    grade: a.grade,
    kind: a.kind,
    score_bp: a.scoreBp,
    model_version: a.modelVersion,
    status: a.status,
    observed_at: new Date(a.observedAt).toISOString(),
    recorded_at: a.recordedAt,
    recorded_by_msp: a.recordedBy.mspId,
    acknowledged_at: a.acknowledgedAt,
    response_ms: a.responseMs,
    closed_at: a.closedAt,
    review_verdict: a.review?.verdict ?? null,
    suspended_permit_nos: json(a.suspendedPermitNos ?? []),
    record: json(stripActors(a)),
    block_number: ctx.blockNumber,
    tx_id: ctx.txId,
  });
}

/** Keeps an actor's org and role only: certificate subjects may name a person. */
function actorSummary(actor: Actor | null): { mspId: string; role: string } | null {
  return actor ? { mspId: actor.mspId, role: actor.role } : null;
}

function stripActors(a: AlarmRecord): unknown {
  return {
    ...a,
    recordedBy: actorSummary(a.recordedBy),
    acknowledgedBy: actorSummary(a.acknowledgedBy),
    closedBy: actorSummary(a.closedBy),
    review: a.review ? { ...a.review, reviewer: actorSummary(a.review.reviewer) } : null,
  };
}

function workerOp(w: WorkerRecord, ctx: EventContext): RowOp {
  return upsert('workers', ['worker_id'], {
    worker_id: w.workerId,
    status: w.status,
    registered_by_msp: w.registeredBy.mspId,
    registered_at: w.registeredAt,
    block_number: ctx.blockNumber,
    tx_id: ctx.txId,
  });
}

function certificateOp(c: CertificateRecord, ctx: EventContext): RowOp {
  return upsert('certificates', ['certificate_id'], {
    certificate_id: c.certificateId,
    worker_id: c.workerId,
    category: c.category,
    item: c.item,
    authority: c.authority,
    valid_from: c.validFrom,
    valid_until: c.validUntil,
    review_due: c.reviewDue,
    status: c.status,
    scan_sha256: c.scanSha256,
    added_by_msp: c.addedBy.mspId,
    added_at: c.addedAt,
    block_number: ctx.blockNumber,
    tx_id: ctx.txId,
  });
}

function deviceOp(d: DeviceRecord, ctx: EventContext): RowOp {
  return upsert('devices', ['device_id'], {
    device_id: d.deviceId,
    owner_msp: d.ownerMsp,
    site_id: d.siteId,
    area_id: d.areaId,
    address: d.address,
    kind: d.kind,
    status: d.status,
    registered_at: d.registeredAt,
    block_number: ctx.blockNumber,
    tx_id: ctx.txId,
  });
}

const permitTransition = (e: { payload: PermitTransitionPayload }, ctx: EventContext) => {
  // projectEvent puts the written permit in place for events of schema 2.
  if (e.payload.permit === undefined) throw new Error(`the transaction writes no permit ${e.payload.permitNo}`);
  return permitOps(e.payload.permit, ctx);
};
const worker = (e: { payload: WorkerRecord }, ctx: EventContext) => [workerOp(e.payload, ctx)];
const certificate = (e: { payload: CertificateRecord }, ctx: EventContext) => [certificateOp(e.payload, ctx)];
const device = (e: { payload: DeviceRecord }, ctx: EventContext) => [deviceOp(e.payload, ctx)];
const alarm = (e: { payload: AlarmRecord }, ctx: EventContext) => [alarmOp(e.payload, ctx)];
/** Events that change nothing the domain tables hold (the raw events table keeps them). */
const nothing = (): RowOp[] => [];

/**
 * One entry per event type. Types not listed are kept in the raw `events` table only and counted
 * by the `indexer_events_unprojected_total` metric, so a new chaincode event is visible at once.
 */
const projectorTable: ProjectorTable = {
  HeartbeatRecorded: (e, ctx) => {
    const h = e.payload;
    return [
      upsert('heartbeats', ['id'], {
        id: h.id,
        org_msp: h.recordedBy.mspId,
        note: h.note,
        recorded_at: h.recordedAt,
        block_number: ctx.blockNumber,
        tx_id: ctx.txId,
      }),
    ];
  },
  PermitApplied: permitTransition,
  PermitRiskAssessed: permitTransition,
  GasTestRecorded: permitTransition,
  PermitSignedOff: permitTransition,
  PermitIssued: permitTransition,
  PermitBriefed: permitTransition,
  PermitActivated: permitTransition,
  PermitSuspended: permitTransition,
  PermitResumed: permitTransition,
  PermitCompleted: permitTransition,
  PermitClosed: permitTransition,
  PermitRejected: permitTransition,
  PermitCancelled: permitTransition,
  PermitRevoked: permitTransition,
  PermitExpired: permitTransition,
  PermitFlagged: (e, ctx) => {
    const f = e.payload;
    return [
      insertOnce('investigation_flags', ['permit_no', 'flag_id'], {
        flag_id: f.flagId,
        permit_no: f.permitNo,
        reason: f.reason,
        flagged_by_msp: f.flaggedBy.mspId,
        at: f.at,
        block_number: ctx.blockNumber,
        tx_id: ctx.txId,
      }),
    ];
  },
  TemplatePublished: nothing,
  PolicyPublished: nothing,
  WorkerRegistered: worker,
  WorkerStatusChanged: worker,
  WorkerPersonalDataStored: nothing,
  CertificateAdded: certificate,
  CertificateStatusChanged: certificate,
  CertificateReviewed: certificate,
  PracticalExamRecorded: certificate,
  CertificateNumberStored: nothing,
  GateCheckRecorded: (e, ctx) => {
    const g = e.payload;
    return [
      insertOnce('gate_checks', ['permit_no', 'worker_id', 'gate_check_id'], {
        gate_check_id: g.gateCheckId,
        permit_no: g.permitNo,
        worker_id: g.workerId,
        at: g.at,
        passed: g.passed,
        qr_passed: g.methods.qr.passed,
        face_passed: g.methods.face.passed,
        face_score_bp: g.methods.face.scoreBp,
        face_device_id: g.methods.face.deviceId,
        certificate_passed: g.methods.certificate.passed,
        certificate_reason: g.methods.certificate.reason,
        health_passed: g.methods.health.passed,
        device_signer: g.device?.signer ?? null,
        offline: g.device?.offline ?? null,
        disagreement: g.device?.disagreement ?? null,
        recorded_by_msp: g.recordedBy.mspId,
        block_number: ctx.blockNumber,
        tx_id: ctx.txId,
      }),
    ];
  },
  EvidenceRecorded: (e, ctx) => {
    const { evidence, duplicate } = e.payload;
    // A duplicate wrote nothing on the ledger, so it changes nothing here either.
    if (duplicate) return [];
    return [
      insertOnce('evidence', ['permit_no', 'step', 'cid'], {
        permit_no: evidence.permitNo,
        step: evidence.step,
        cid: evidence.cid,
        sha256: evidence.sha256,
        size_bytes: evidence.sizeBytes,
        media_type: evidence.mediaType,
        captured_at: evidence.capturedAt,
        device_id: evidence.deviceId,
        recorded_by_msp: evidence.recordedBy.mspId,
        recorded_at: evidence.recordedAt,
        block_number: ctx.blockNumber,
        tx_id: ctx.txId,
      }),
    ];
  },
  DeviceRegistered: device,
  DeviceStatusChanged: device,
  AlarmRecorded: (e, ctx) => {
    const p = e.payload;
    // Events of chaincode versions before suspensions were recorded have no suspendedPermits.
    return [alarmOp(p.alarm, ctx), ...(p.suspendedPermits ?? []).flatMap((permit) => permitOps(permit, ctx))];
  },
  AlarmAcknowledged: alarm,
  AlarmClosed: alarm,
  DetectionReviewed: alarm,
  PersonalDataAccessLogged: (e, ctx) => {
    const a = e.payload;
    return [
      insertOnce('personal_data_accesses', ['access_id'], {
        access_id: a.accessId,
        subject_kind: a.subject.kind,
        subject_id: a.subject.id,
        purpose: a.purpose,
        accessor_msp: a.accessor.mspId,
        accessor_role: a.accessor.role,
        at: a.at,
        block_number: ctx.blockNumber,
        tx_id: ctx.txId,
      }),
    ];
  },
  PersonalDataErased: (e, ctx) => {
    const p = e.payload;
    return [
      insertOnce('personal_data_erasures', ['tx_id', 'subject_kind', 'subject_id'], {
        tx_id: ctx.txId,
        subject_kind: p.subject.kind,
        subject_id: p.subject.id,
        collection: p.collection,
        reason: p.reason,
        erased_by_msp: p.erasedBy.mspId,
        erased_by_role: p.erasedBy.role,
        at: e.at,
        block_number: ctx.blockNumber,
      }),
    ];
  },
};

/**
 * Exactly the schema's event types (ProjectorTable is a mapped type over them): a type the
 * chaincode adds to schema/src/events.ts without a projector here, or a projector for a type the
 * schema does not declare, fails the build.
 */
export const projectors: Readonly<ProjectorTable> = Object.freeze(projectorTable);

export type ProjectionOutcome = 'projected' | 'unknown_type' | 'undecodable';

/**
 * Whether an event's JSON text may hold either: JSON writes U+0000 only as `\u0000` (a raw one is
 * invalid JSON), and decoded UTF-8 holds no lone surrogate (invalid bytes decode as U+FFFD), so only
 * a `\uD800`–`\uDFFF` escape can make one. A look at the text instead of a walk over every string
 * of every event (a permit's record is 3 KB); a hit (an escaped backslash followed by `u0000` is
 * one too) is decided by the walk.
 */
const MAYBE_UNSTORABLE = /\\u(?:0000|[dD][89a-fA-F])/;

export interface ProjectedEvent {
  outcome: ProjectionOutcome;
  type: string | null;
  ops: RowOp[];
  /** Where the event first held text the mirror cannot store (replaced by U+FFFD); absent when none. */
  replacedText?: string[];
}

const PERMIT_EVENTS: ReadonlySet<string> = new Set(Object.values(PERMIT_EVENT_TYPES));
const utf8 = new TextDecoder();

/** A schema-2 permit event's permit, as its transaction wrote it (JSON text); undefined for any other event or when not written. */
function writtenPermitText(envelope: Envelope, ctx: EventContext): string | undefined {
  if (!PERMIT_EVENTS.has(envelope.type)) return undefined;
  const payload = envelope.payload as Partial<PermitTransitionPayload> | null;
  if (typeof payload !== 'object' || payload === null || payload.permit !== undefined || typeof payload.permitNo !== 'string') return undefined;
  const value = ctx.written?.(permitStateKey(payload.permitNo));
  return value === undefined ? undefined : utf8.decode(value);
}

/** Decodes one chaincode event and returns its row operations (none for unknown or foreign events). */
export function projectEvent(payload: Uint8Array, ctx: EventContext): ProjectedEvent {
  let envelope: Envelope;
  let text: string;
  try {
    // Decode without copying: the payload is usually a view into the block's buffer already.
    text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    envelope = JSON.parse(text) as Envelope;
  } catch {
    return { outcome: 'undecodable', type: null, ops: [] };
  }
  if (typeof envelope !== 'object' || envelope === null || typeof envelope.type !== 'string' || !EVENT_SCHEMA_VERSIONS_READ.includes(envelope.schemaVersion)) {
    return { outcome: 'undecodable', type: null, ops: [] };
  }
  const projector = (projectors as Readonly<Record<string, Projector | undefined>>)[envelope.type];
  if (!projector) return { outcome: 'unknown_type', type: envelope.type, ops: [] };
  const permitText = writtenPermitText(envelope, ctx);
  if (permitText !== undefined) {
    (envelope.payload as { permit?: unknown }).permit = JSON.parse(permitText);
    text += permitText;
  }
  // Since 2026-12-05 the chaincode refuses such text, but a ledger written before keeps it in its
  // blocks for good and PostgreSQL refuses it in `text` and `jsonb`: the mirror holds U+FFFD, the raw
  // event (bytea) and the block what was written.
  const unstorable = MAYBE_UNSTORABLE.test(text) ? unstorableText(envelope) : undefined;
  if (unstorable) envelope = storableCopy(envelope) as Envelope;
  let ops: RowOp[];
  try {
    // The type names its projector; the payload's shape is the chaincode's promise, and a payload
    // that breaks it surfaces below as a ProjectionError rather than a wrong row.
    ops = projector(envelope as LedgerEvent, ctx);
  } catch (err) {
    throw new ProjectionError(`block ${ctx.blockNumber} tx ${ctx.txId}: ${envelope.type} payload cannot be projected: ${(err as Error).message}`);
  }
  return { outcome: 'projected', type: envelope.type, ops, ...(unstorable ? { replacedText: unstorable.path } : {}) };
}

/**
 * Collects the row operations of a batch of blocks and merges them per table, so each table gets
 * one multi-row INSERT. Within a batch the same key can appear twice (a permit changed in two
 * blocks); Postgres refuses a key twice in one `ON CONFLICT DO UPDATE`, and the later version is the
 * newer state anyway, so the last operation per key wins (first one for insert-once facts).
 */
export class DomainBatch {
  private readonly tables = new Map<string, { key: readonly string[]; onConflict: 'merge' | 'ignore'; rows: Map<string, Row> }>();

  add(ops: readonly RowOp[]): void {
    for (const op of ops) {
      const id = `${op.table}|${op.onConflict}`;
      let t = this.tables.get(id);
      if (!t) {
        t = { key: op.key, onConflict: op.onConflict, rows: new Map() };
        this.tables.set(id, t);
      }
      const rowKey = JSON.stringify(op.key.map((k) => op.row[k]));
      if (op.onConflict === 'merge') {
        t.rows.delete(rowKey);
        t.rows.set(rowKey, op.row);
      } else if (!t.rows.has(rowKey)) {
        t.rows.set(rowKey, op.row);
      }
    }
  }

  groups(): { table: string; key: readonly string[]; onConflict: 'merge' | 'ignore'; rows: Row[] }[] {
    return [...this.tables.entries()].map(([id, t]) => ({ table: id.split('|')[0]!, key: t.key, onConflict: t.onConflict, rows: [...t.rows.values()] }));
  }
}
