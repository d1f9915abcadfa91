import { randomUUID } from 'node:crypto';
import type { SignedAlarmFields } from '@compliance-ledger/schema';
import { Wallet } from 'ethers';
import { alarmId } from '../../src/pipeline/alarm.js';
import { type SignedAlarm, signAlarm } from '../../src/pipeline/alarm-signature.js';

const wallet = new Wallet('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const T0 = Date.parse('2026-11-30T02:00:00Z');

/** A validly signed alarm number `i`, with a distinct deterministic id. */
export async function sampleAlarm(i: number): Promise<SignedAlarm> {
  const windowStart = T0 + i * 60_000;
  const fields: SignedAlarmFields = {
    alarmId: alarmId({ deviceId: 'gas-a', siteId: 'site-1', areaId: 'tank-farm', kind: 'risk_score', grade: 3, windowStart }),
    deviceId: 'gas-a',
    siteId: 'site-1',
    areaId: 'tank-farm',
    grade: 3,
    kind: 'risk_score',
    scoreBp: 7500,
    modelVersion: 'site-risk-mlp@1.0.0',
    modelSha256: `0x${'11'.repeat(32)}`,
    inputSha256: `0x${'22'.repeat(32)}`,
    clipCid: '',
    observedAt: windowStart + 1,
  };
  return signAlarm(wallet, fields);
}

/** Fields of a grade III risk-score alarm of a device, with a fresh id, for tests on the real ledger. */
export function alarmFieldsFor(deviceId: string, siteId: string, areaId: string, o: Partial<SignedAlarmFields> = {}): SignedAlarmFields {
  return {
    alarmId: `alarm-${randomUUID()}`,
    deviceId,
    siteId,
    areaId,
    grade: 3,
    kind: 'risk_score',
    scoreBp: 7200,
    modelVersion: 'test@1',
    modelSha256: `0x${'ab'.repeat(32)}`,
    inputSha256: `0x${'cd'.repeat(32)}`,
    clipCid: '',
    observedAt: Date.now(),
    ...o,
  };
}
