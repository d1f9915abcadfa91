import type { SignedAlarmFields } from '@compliance-ledger/schema';
import { type BaseWallet, Wallet } from 'ethers';
import { alarmFields, alarmFieldsFor as deviceAlarmFields } from '../../../schema/test/support/alarm-fields.js';
import { alarmId } from '../../src/pipeline/alarm.js';
import { type SignedAlarm, signAlarm, signGrading } from '../../src/pipeline/alarm-signature.js';
import type { ServiceKey } from '../../src/pipeline/device-keys.js';
import { deviceSignedReading, signStandardMessage } from '../../src/pipeline/message-signature.js';

const wallet = new Wallet('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const T0 = Date.parse('2026-11-30T02:00:00Z');
/** Grade III risk score: recorded, but stops no work. */
const GRADE_III_RISK = { grade: 3, kind: 'risk_score' } as const;

/** A validly signed alarm number `i`, with a distinct deterministic id. */
export async function sampleAlarm(i: number): Promise<SignedAlarm> {
  const windowStart = T0 + i * 60_000;
  const id = alarmId({ deviceId: 'gas-a', siteId: 'site-1', areaId: 'tank-farm', ...GRADE_III_RISK, windowStart });
  return signAlarm(wallet, alarmFields({ alarmId: id, ...GRADE_III_RISK, scoreBp: 7500, observedAt: windowStart + 1 }));
}

/** Fields of a grade III risk-score alarm of a device, with a fresh id, for tests on the real ledger. */
export function alarmFieldsFor(deviceId: string, siteId: string, areaId: string, o: Partial<SignedAlarmFields> = {}): SignedAlarmFields {
  return deviceAlarmFields(deviceId, siteId, areaId, { ...GRADE_III_RISK, scoreBp: 7200, modelVersion: 'test@1', ...o });
}

/**
 * A version-2 alarm as ingest raises it: the device signs the reading that triggered it (a
 * standard message of its device, place and time), the service signs the grading.
 */
export async function gradedAlarmFor(device: BaseWallet, service: ServiceKey, fields: SignedAlarmFields): Promise<SignedAlarm> {
  const message = await signStandardMessage(device, {
    v: 1,
    kind: 'env',
    messageId: `m-${fields.alarmId}`,
    siteId: fields.siteId,
    areaId: fields.areaId,
    deviceId: fields.deviceId,
    observedAt: fields.observedAt,
    reading: { o2VolPct: 17.5 },
  });
  return signGrading(service, fields, deviceSignedReading(message));
}
