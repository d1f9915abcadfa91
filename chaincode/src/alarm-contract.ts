import type { AlarmClip, AlarmRecord, DeviceRecord, DeviceSignedReading, PermitRecord, SignedAlarmFields } from '@compliance-ledger/schema';
import { Context, Info } from 'fabric-contract-api';
import { alarmStopReason, responseMs } from './alarm-rules';
import { assertGradedBy, assertReadingSignedBy, assertSignedBy, readingSha256 } from './alarm-signature';
import { txTimeIso, txTimeMs } from './clock';
import { loadDevice } from './device-contract';
import { AlreadyExistsError, ForbiddenError, InvalidStateError, ReplayError, RuleViolationError, SignatureInvalidError, ValidationError } from './errors';
import { canonicalJson } from './json';
import { LedgerContract } from './ledger-contract';
import { listLivePermits, recordStep, savePermit } from './permit-store';
import { deleteKey, exists, KEYS, key, listByPartialKey, mustGetJson, putJson, putMarker } from './store';
import { loadPolicy } from './template-contract';
import { Evaluate, emit, putAndEmit, run, Submit } from './tx';

type SignedPart = Pick<AlarmRecord, 'signer' | 'signatureVersion' | 'serviceId' | 'readingSha256' | 'reading' | 'clip'>;

/**
 * The clip of a camera's detection: the camera signed its sha256 in the reading, so the recorded
 * hash must be exactly that one, and a detection that names a clip cannot lose it silently. Only
 * a verified clip has a CID; a missing or mismatched one records none. `reading` is null for a
 * device registered as not signing: its clip hash rests on the ingest service alone.
 */
function checkClip(reading: Record<string, unknown> | null, a: SignedAlarmFields, clip: AlarmClip | undefined): AlarmClip | null {
  const detection = reading?.detection;
  const signed = typeof detection === 'object' && detection !== null ? (detection as Record<string, unknown>).clipSha256 : undefined;
  if (clip !== undefined && reading === null) return clipWithCid(a, clip);
  if (clip === undefined) {
    if (typeof signed === 'string') {
      throw new RuleViolationError(
        `the camera signed clip ${signed} in its detection; the alarm must state that clip's status (verified, missing or mismatch)`,
      );
    }
    return null;
  }
  if (signed !== clip.sha256) {
    throw new RuleViolationError(
      signed === undefined
        ? 'the alarm states a clip but the device-signed reading names none; send the clip status only for a detection with clipSha256'
        : `the clip sha256 ${clip.sha256} is not the one the camera signed (${String(signed)})`,
    );
  }
  return clipWithCid(a, clip);
}

function clipWithCid(a: SignedAlarmFields, clip: AlarmClip): AlarmClip {
  if ((clip.status === 'verified') !== (a.clipCid !== '')) {
    throw new RuleViolationError(
      clip.status === 'verified' ? 'a verified clip needs its clipCid' : `a ${clip.status} clip has no verified content: its clipCid must be empty`,
    );
  }
  return clip;
}

/**
 * Version 2: the device's own signature over the reading that triggered the alarm, and the ingest
 * service's signature over the grading of exactly that reading. The service is trusted with the
 * grading only; the reading must be the device's, for this device, place and time.
 */
async function verifyGrading(
  ctx: Context,
  a: SignedAlarmFields,
  serviceId: string,
  reading: DeviceSignedReading | undefined,
  signature: string,
  device: DeviceRecord,
  clip: AlarmClip | undefined,
): Promise<SignedPart> {
  const service = await loadDevice(ctx, serviceId);
  if (service.kind !== 'ingest_service')
    throw new RuleViolationError(`${serviceId} is a ${service.kind}, not an ingest service; register the service's key with kind ingest_service`);
  if (service.status !== 'active') throw new ForbiddenError(`ingest service ${serviceId} is ${service.status}; its gradings are refused`);
  if (service.ownerMsp !== device.ownerMsp)
    throw new ForbiddenError(`ingest service ${serviceId} belongs to ${service.ownerMsp}, device ${a.deviceId} to ${device.ownerMsp}`);
  const signer = assertGradedBy(a, serviceId, reading, signature, service.address);
  if (reading === undefined) {
    if (device.signsReadings !== false)
      throw new SignatureInvalidError(`device ${a.deviceId} is registered as signing its readings, but the alarm carries no device-signed reading`);
    return { signer, signatureVersion: 2, serviceId, readingSha256: readingSha256(undefined), reading: null, clip: checkClip(null, a, clip) };
  }
  const deviceSigner = assertReadingSignedBy(reading, a.deviceId, device.address);
  let message: unknown;
  try {
    message = JSON.parse(reading.message);
  } catch {
    throw new ValidationError('reading.message is not JSON; send the exact text the device signed');
  }
  const m = (typeof message === 'object' && message !== null ? message : {}) as Record<string, unknown>;
  const mismatch = (['deviceId', 'siteId', 'areaId', 'observedAt'] as const).filter((f) => m[f] !== a[f]);
  if (mismatch.length > 0) {
    throw new RuleViolationError(
      `the device-signed reading differs from the alarm in ${mismatch.join(', ')}: an alarm must come from the reading it was graded on`,
    );
  }
  return {
    signer,
    signatureVersion: 2,
    serviceId,
    readingSha256: readingSha256(reading),
    reading: { ...reading, signer: deviceSigner },
    clip: checkClip(m, a, clip),
  };
}

/**
 * Device-signed alarms. The signature is checked against the registered address before anything
 * is written, and a severe alarm (or a wind alarm, for the outdoor work it stops) suspends the
 * active permits of its area in the same transaction, so there is no window in which work
 * continues on a recorded alarm.
 */
@Info({ title: 'Alarms', description: 'Signed alarms from edge devices, automatic suspension, response and review' })
export class AlarmContract extends LedgerContract {
  constructor() {
    super('alarm');
  }

  @Submit()
  async Record(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'alarm:Record', input, async ({ actor, data: d }) => {
      const a = d.alarm;
      const k = key(ctx, KEYS.alarm, [a.alarmId]);
      if (await exists(ctx, k)) throw new ReplayError(`alarm ${a.alarmId} is already on the ledger; alarm ids are single-use`);
      const device = await loadDevice(ctx, a.deviceId);
      if (device.status !== 'active') throw new ForbiddenError(`device ${a.deviceId} is ${device.status}; its alarms are refused`);
      if (device.kind === 'ingest_service' || device.kind === 'credential_office') {
        throw new RuleViolationError(`${a.deviceId} is a ${device.kind} key, not a device that raises alarms`);
      }
      const signed =
        d.serviceId === undefined
          ? { signer: assertSignedBy(a, d.signature, device.address) }
          : await verifyGrading(ctx, a, d.serviceId, d.reading, d.signature, device, d.clip);
      if (device.siteId !== a.siteId || device.areaId !== a.areaId) {
        throw new RuleViolationError(`device ${a.deviceId} is registered to ${device.siteId}/${device.areaId}, not ${a.siteId}/${a.areaId}`);
      }
      const now = txTimeMs(ctx);
      const at = txTimeIso(ctx);
      const policy = await loadPolicy(ctx);
      const suspended: PermitRecord[] = [];
      for (const p of await listLivePermits(ctx, a.siteId, a.areaId, now)) {
        if (p.status !== 'active') continue;
        const reason = alarmStopReason(a, p, policy.alarmSuspendMaxGrade);
        if (reason === null) continue;
        const after = recordStep(
          ctx,
          { ...p, suspension: { reason, alarmId: a.alarmId, note: `${a.kind} grade ${a.grade}`, at } },
          'suspend',
          'suspended',
          actor,
        );
        await savePermit(ctx, p.status, after);
        suspended.push(after);
      }
      const alarm: AlarmRecord = {
        docType: 'alarm',
        ...a,
        signature: d.signature,
        ...signed,
        deviceKind: device.kind,
        status: 'open',
        recordedBy: actor,
        recordedAt: at,
        txId: ctx.stub.getTxID(),
        suspendedPermitNos: suspended.map((p) => p.permitNo),
        acknowledgedBy: null,
        acknowledgedAt: null,
        responseMs: null,
        closedBy: null,
        closedAt: null,
        resolution: null,
        review: null,
      };
      await putJson(ctx, k, alarm);
      await putMarker(ctx, key(ctx, KEYS.openAlarm, [a.siteId, a.areaId, a.alarmId]));
      emit(ctx, 'AlarmRecorded', { alarm, suspendedPermits: suspended });
      return canonicalJson(alarm);
    });
  }

  @Submit()
  async Acknowledge(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'alarm:Acknowledge', input, async ({ actor, data: d }) => {
      const k = key(ctx, KEYS.alarm, [d.alarmId]);
      const alarm = await mustGetJson<AlarmRecord>(ctx, k, `alarm ${d.alarmId}`);
      if (alarm.status !== 'open') throw new InvalidStateError(`alarm ${d.alarmId} is already ${alarm.status}`);
      const now = txTimeMs(ctx);
      const after: AlarmRecord = {
        ...alarm,
        status: 'acknowledged',
        acknowledgedBy: actor,
        acknowledgedAt: txTimeIso(ctx),
        responseMs: responseMs(alarm.recordedAt, now),
      };
      return putAndEmit(ctx, k, 'AlarmAcknowledged', after);
    });
  }

  @Submit()
  async Close(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'alarm:Close', input, async ({ actor, data: d }) => {
      const k = key(ctx, KEYS.alarm, [d.alarmId]);
      const alarm = await mustGetJson<AlarmRecord>(ctx, k, `alarm ${d.alarmId}`);
      if (alarm.status !== 'acknowledged') {
        throw new InvalidStateError(alarm.status === 'open' ? `acknowledge alarm ${d.alarmId} before closing it` : `alarm ${d.alarmId} is already closed`);
      }
      if (d.note === '') throw new RuleViolationError('closing an alarm needs a note saying how it was resolved');
      const after: AlarmRecord = { ...alarm, status: 'closed', closedBy: actor, closedAt: txTimeIso(ctx), resolution: d.note };
      await putJson(ctx, k, after);
      await deleteKey(ctx, key(ctx, KEYS.openAlarm, [alarm.siteId, alarm.areaId, alarm.alarmId]));
      emit(ctx, 'AlarmClosed', after);
      return canonicalJson(after);
    });
  }

  /** A reviewer's verdict on an AI (camera) detection, so that model precision can be reported. */
  @Submit()
  async ReviewDetection(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'alarm:ReviewDetection', input, async ({ actor, data: d }) => {
      const k = key(ctx, KEYS.alarm, [d.alarmId]);
      const alarm = await mustGetJson<AlarmRecord>(ctx, k, `alarm ${d.alarmId}`);
      if (alarm.deviceKind !== 'camera') throw new RuleViolationError(`alarm ${d.alarmId} comes from a ${alarm.deviceKind}, not an AI camera detection`);
      if (alarm.review !== null) throw new AlreadyExistsError(`alarm ${d.alarmId} was already reviewed as ${alarm.review.verdict}`);
      const after: AlarmRecord = { ...alarm, review: { verdict: d.verdict, note: d.note, reviewer: actor, at: txTimeIso(ctx) } };
      return putAndEmit(ctx, k, 'DetectionReviewed', after);
    });
  }

  @Evaluate()
  async Get(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'alarm:Get', input, async ({ data: d }) => {
      return canonicalJson(await mustGetJson<AlarmRecord>(ctx, key(ctx, KEYS.alarm, [d.alarmId]), `alarm ${d.alarmId}`));
    });
  }

  @Evaluate()
  async ListOpen(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'alarm:ListOpen', input, async ({ data: q }) => {
      const entries = await listByPartialKey<unknown>(ctx, KEYS.openAlarm, q.areaId === undefined ? [q.siteId] : [q.siteId, q.areaId]);
      const out: AlarmRecord[] = [];
      for (const e of entries) {
        const id = e.attributes[2];
        if (id !== undefined) out.push(await mustGetJson<AlarmRecord>(ctx, key(ctx, KEYS.alarm, [id]), `alarm ${id}`));
      }
      return canonicalJson(out);
    });
  }
}
