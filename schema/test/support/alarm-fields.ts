/**
 * The signed fields of an alarm, for the tests of every package that signs, records or verifies
 * alarms: one builder, so that a test states only the fields it is about. The defaults are a
 * grade I flammable-gas alarm of device gas-a in site-1/tank-farm, with placeholder model and
 * input hashes and no clip.
 */
import { randomUUID } from 'node:crypto';
import type { SignedAlarmFields } from '@compliance-ledger/schema';

/** 2026-11-30T02:00:00Z, a multiple of ingest's grading window. */
export const ALARM_T0 = Date.parse('2026-11-30T02:00:00Z');

export function alarmFields(o: Partial<SignedAlarmFields> = {}): SignedAlarmFields {
  return {
    alarmId: 'alarm-1',
    deviceId: 'gas-a',
    siteId: 'site-1',
    areaId: 'tank-farm',
    grade: 1,
    kind: 'flammable_gas_above_permit_criterion',
    scoreBp: 9985,
    modelVersion: 'site-risk-mlp@1.0.0',
    modelSha256: `0x${'ab'.repeat(32)}`,
    inputSha256: `0x${'cd'.repeat(32)}`,
    clipCid: '',
    observedAt: ALARM_T0,
    ...o,
  };
}

/** An alarm of a device in an area, observed now, with a fresh id: for tests on the real ledger, where ids are single-use. */
export function alarmFieldsFor(deviceId: string, siteId: string, areaId: string, o: Partial<SignedAlarmFields> = {}): SignedAlarmFields {
  return alarmFields({ alarmId: `alarm-${randomUUID()}`, deviceId, siteId, areaId, observedAt: Date.now(), ...o });
}
