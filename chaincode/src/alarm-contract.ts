import type { AlarmRecord, PermitRecord } from '@compliance-ledger/schema';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { alarmStopReason, responseMs } from './alarm-rules';
import { assertSignedBy } from './alarm-signature';
import { txTimeIso, txTimeMs } from './clock';
import { loadDevice } from './device-contract';
import { AlreadyExistsError, ForbiddenError, InvalidStateError, ReplayError, RuleViolationError } from './errors';
import { canonicalJson } from './json';
import { LedgerContract } from './ledger-contract';
import { listLivePermits, recordStep, savePermit } from './permit-store';
import { exists, KEYS, key, listByPartialKey, mustGetJson, putJson, putMarker } from './store';
import { loadPolicy } from './template-contract';
import { emit, enter, guarded } from './tx';

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

  @Transaction()
  @Returns('string')
  async Record(ctx: Context, input: string): Promise<string> {
    return guarded(async () => {
      const { actor, data: d } = enter(ctx, 'alarm:Record', input);
      const a = d.alarm;
      const k = key(ctx, KEYS.alarm, [a.alarmId]);
      if (await exists(ctx, k)) throw new ReplayError(`alarm ${a.alarmId} is already on the ledger; alarm ids are single-use`);
      const device = await loadDevice(ctx, a.deviceId);
      if (device.status !== 'active') throw new ForbiddenError(`device ${a.deviceId} is ${device.status}; its alarms are refused`);
      const signer = assertSignedBy(a, d.signature, device.address);
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
        signer,
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

  @Transaction()
  @Returns('string')
  async Acknowledge(ctx: Context, input: string): Promise<string> {
    return guarded(async () => {
      const { actor, data: d } = enter(ctx, 'alarm:Acknowledge', input);
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
      await putJson(ctx, k, after);
      emit(ctx, 'AlarmAcknowledged', after);
      return canonicalJson(after);
    });
  }

  @Transaction()
  @Returns('string')
  async Close(ctx: Context, input: string): Promise<string> {
    return guarded(async () => {
      const { actor, data: d } = enter(ctx, 'alarm:Close', input);
      const k = key(ctx, KEYS.alarm, [d.alarmId]);
      const alarm = await mustGetJson<AlarmRecord>(ctx, k, `alarm ${d.alarmId}`);
      if (alarm.status !== 'acknowledged') {
        throw new InvalidStateError(alarm.status === 'open' ? `acknowledge alarm ${d.alarmId} before closing it` : `alarm ${d.alarmId} is already closed`);
      }
      if (d.note === '') throw new RuleViolationError('closing an alarm needs a note saying how it was resolved');
      const after: AlarmRecord = { ...alarm, status: 'closed', closedBy: actor, closedAt: txTimeIso(ctx), resolution: d.note };
      await putJson(ctx, k, after);
      await ctx.stub.deleteState(key(ctx, KEYS.openAlarm, [alarm.siteId, alarm.areaId, alarm.alarmId]));
      emit(ctx, 'AlarmClosed', after);
      return canonicalJson(after);
    });
  }

  /** A reviewer's verdict on an AI (camera) detection, so that model precision can be reported. */
  @Transaction()
  @Returns('string')
  async ReviewDetection(ctx: Context, input: string): Promise<string> {
    return guarded(async () => {
      const { actor, data: d } = enter(ctx, 'alarm:ReviewDetection', input);
      const k = key(ctx, KEYS.alarm, [d.alarmId]);
      const alarm = await mustGetJson<AlarmRecord>(ctx, k, `alarm ${d.alarmId}`);
      if (alarm.deviceKind !== 'camera') throw new RuleViolationError(`alarm ${d.alarmId} comes from a ${alarm.deviceKind}, not an AI camera detection`);
      if (alarm.review !== null) throw new AlreadyExistsError(`alarm ${d.alarmId} was already reviewed as ${alarm.review.verdict}`);
      const after: AlarmRecord = { ...alarm, review: { verdict: d.verdict, note: d.note, reviewer: actor, at: txTimeIso(ctx) } };
      await putJson(ctx, k, after);
      emit(ctx, 'DetectionReviewed', after);
      return canonicalJson(after);
    });
  }

  @Transaction(false)
  @Returns('string')
  async Get(ctx: Context, input: string): Promise<string> {
    return guarded(async () => {
      const { data: d } = enter(ctx, 'alarm:Get', input);
      return canonicalJson(await mustGetJson<AlarmRecord>(ctx, key(ctx, KEYS.alarm, [d.alarmId]), `alarm ${d.alarmId}`));
    });
  }

  @Transaction(false)
  @Returns('string')
  async ListOpen(ctx: Context, input: string): Promise<string> {
    return guarded(async () => {
      const { data: q } = enter(ctx, 'alarm:ListOpen', input);
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
