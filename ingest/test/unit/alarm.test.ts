import {
  ALARM_EIP712_DOMAIN,
  ALARM_EIP712_TYPES,
  canonicalJson,
  GRADING_EIP712_DOMAIN,
  GRADING_EIP712_TYPES,
  NO_READING_SHA256,
  type SignedAlarmFields,
} from '@compliance-ledger/schema';
import { expect } from 'chai';
import { verifyTypedData, Wallet } from 'ethers';
import { alarmFields } from '../../../schema/test/support/alarm-fields.js';
import { alarmId, toScoreBp } from '../../src/pipeline/alarm.js';
import { AlarmDeduper } from '../../src/pipeline/alarm-dedup.js';
import { readingSha256, recoverAlarmSigner, recoverGradingSigner, recoverReadingSigner, signAlarm, signGrading } from '../../src/pipeline/alarm-signature.js';
import type { StandardMessage } from '../../src/pipeline/message.js';
import { deviceSignedReading, signStandardMessage } from '../../src/pipeline/message-signature.js';
import { rawCid } from '../../tools/scenarios.js';

const W = 60_000;
const T0 = Date.parse('2026-11-30T02:00:00Z'); // a multiple of the window

describe('alarms', () => {
  describe('dedup window', () => {
    it('raises one alarm per area and kind per window', () => {
      const d = new AlarmDeduper(W);
      expect(d.admit('s', 'a', 'k', 3, T0)?.windowStart).to.equal(T0);
      expect(d.admit('s', 'a', 'k', 3, T0 + W - 1)?.windowStart).to.equal(undefined);
      expect(d.admit('s', 'a', 'k', 4, T0 + 10)?.windowStart).to.equal(undefined);
      // Another kind or another area is another alarm.
      expect(d.admit('s', 'a', 'other', 3, T0 + 10)?.windowStart).to.equal(T0);
      expect(d.admit('s', 'b', 'k', 3, T0 + 10)?.windowStart).to.equal(T0);
      // The window boundary belongs to the next window.
      expect(d.admit('s', 'a', 'k', 3, T0 + W)?.windowStart).to.equal(T0 + W);
    });
    it('lets an escalation through within the window, once', () => {
      const d = new AlarmDeduper(W);
      expect(d.admit('s', 'a', 'k', 3, T0)?.windowStart).to.equal(T0);
      expect(d.admit('s', 'a', 'k', 1, T0 + 5)?.windowStart).to.equal(T0);
      expect(d.admit('s', 'a', 'k', 1, T0 + 6)?.windowStart).to.equal(undefined);
      expect(d.admit('s', 'a', 'k', 2, T0 + 7)?.windowStart).to.equal(undefined);
    });
    it('a released admission lets the same alarm through again (it could not be queued)', () => {
      const d = new AlarmDeduper(W);
      expect(d.admit('s', 'a', 'k', 3, T0)?.windowStart).to.equal(T0);
      const escalation = d.admit('s', 'a', 'k', 1, T0 + 1)!;
      escalation.release();
      // Back to grade 3 raised: the escalation passes again, a repeat of grade 3 still does not.
      expect(d.admit('s', 'a', 'k', 3, T0 + 2)).to.equal(undefined);
      expect(d.admit('s', 'a', 'k', 1, T0 + 3)?.windowStart).to.equal(T0);
    });
    it('windows come from the source time, so a redelivery hours later lands in the same window', () => {
      const a = new AlarmDeduper(W);
      const b = new AlarmDeduper(W);
      expect(a.windowStart(T0 + 42_123)).to.equal(b.windowStart(T0 + 42_123));
      expect(a.windowStart(T0 + 42_123)).to.equal(T0);
    });
  });

  describe('deterministic ids', () => {
    const base = { deviceId: 'gas-a', siteId: 's', areaId: 'a', kind: 'k', grade: 1 as const, windowStart: T0 };
    it('the same inputs give the same id; any part changes it', () => {
      expect(alarmId(base)).to.equal(alarmId({ ...base }));
      expect(alarmId(base)).to.match(/^[0-9a-f]{64}$/);
      const variants = [{ deviceId: 'gas-b' }, { areaId: 'b' }, { kind: 'k2' }, { grade: 2 as const }, { windowStart: T0 + W }, { siteId: 's2' }];
      const ids = new Set([alarmId(base), ...variants.map((v) => alarmId({ ...base, ...v }))]);
      expect(ids.size).to.equal(variants.length + 1);
    });
    it('scores are signed in basis points, clamped', () => {
      expect(toScoreBp(0.95)).to.equal(9500);
      expect(toScoreBp(1.2)).to.equal(10_000);
      expect(toScoreBp(-0.1)).to.equal(0);
    });
  });

  describe('EIP-712 signature', () => {
    const id = alarmId({ deviceId: 'gas-a', siteId: 'site-1', areaId: 'tank-farm', kind: 'flammable_gas_above_permit_criterion', grade: 1, windowStart: T0 });
    const fields = alarmFields({ alarmId: id, clipCid: rawCid('clip'), observedAt: T0 });

    it('verifies with ethers.verifyTypedData and the shared domain and types', async () => {
      const device = Wallet.createRandom();
      const signed = await signAlarm(device, fields);
      const types = { Alarm: ALARM_EIP712_TYPES.Alarm.map((f) => ({ ...f })) };
      expect(verifyTypedData({ ...ALARM_EIP712_DOMAIN }, types, signed.fields, signed.signature)).to.equal(device.address);
      expect(recoverAlarmSigner(signed)).to.equal(device.address);
    });

    it('a tampered field recovers another address', async () => {
      const device = Wallet.createRandom();
      const signed = await signAlarm(device, fields);
      const tampered: Array<Partial<SignedAlarmFields>> = [
        { grade: 2 },
        { areaId: 'elsewhere' },
        { scoreBp: 1 },
        { observedAt: T0 + 1 },
        { clipCid: '' },
        { modelSha256: `0x${'00'.repeat(32)}` },
      ];
      for (const t of tampered) {
        expect(recoverAlarmSigner({ ...signed, fields: { ...fields, ...t } }), JSON.stringify(t)).to.not.equal(device.address);
      }
    });

    it('signatures are deterministic, so a retried alarm is byte-identical', async () => {
      const device = Wallet.createRandom();
      expect((await signAlarm(device, fields)).signature).to.equal((await signAlarm(device, fields)).signature);
    });
  });

  describe('version 2: the device signs the reading, the service signs the grading', () => {
    const fields = (o: Partial<SignedAlarmFields> = {}): SignedAlarmFields => alarmFields({ alarmId: 'a1', observedAt: T0, ...o });
    const reading = {
      v: 1,
      kind: 'env',
      messageId: 'm1',
      siteId: 'site-1',
      areaId: 'tank-farm',
      deviceId: 'gas-a',
      observedAt: T0,
      reading: { flammableLelPct: 30 },
    } as StandardMessage;

    it('carries the exact text the device signed, and a grading bound to it by its sha256', async () => {
      const device = Wallet.createRandom();
      const service = { serviceId: 'ingest-1', wallet: Wallet.createRandom() };
      const signedMessage = await signStandardMessage(device, reading);
      const carried = deviceSignedReading(signedMessage)!;
      expect(carried.message).to.equal(canonicalJson(reading));
      const alarm = await signGrading(service, fields(), carried);
      expect(alarm).to.include({ serviceId: 'ingest-1' });
      expect(recoverReadingSigner(alarm)).to.equal(device.address);
      expect(recoverGradingSigner(alarm)).to.equal(service.wallet.address);
      const types = { Grading: GRADING_EIP712_TYPES.Grading.map((f) => ({ ...f })) };
      expect(
        verifyTypedData({ ...GRADING_EIP712_DOMAIN }, types, { ...fields(), serviceId: 'ingest-1', readingSha256: readingSha256(carried) }, alarm.signature),
      ).to.equal(service.wallet.address);
      // the grading of another reading, or another grade, recovers another address
      expect(recoverGradingSigner({ ...alarm, reading: { ...carried, message: carried.message.replace('30', '31') } })).to.not.equal(service.wallet.address);
      expect(recoverGradingSigner({ ...alarm, fields: fields({ grade: 2 }) })).to.not.equal(service.wallet.address);
      expect(recoverGradingSigner({ ...alarm, serviceId: 'ingest-2' })).to.not.equal(service.wallet.address);
    });

    it('an unsigned message gives an alarm without a reading, graded over the zero hash', async () => {
      const service = { serviceId: 'ingest-1', wallet: Wallet.createRandom() };
      expect(deviceSignedReading(reading)).to.equal(undefined);
      const alarm = await signGrading(service, fields(), undefined);
      expect(alarm).to.not.have.property('reading');
      expect(readingSha256(undefined)).to.equal(NO_READING_SHA256);
      expect(recoverGradingSigner(alarm)).to.equal(service.wallet.address);
      expect(recoverReadingSigner(alarm)).to.equal(undefined);
    });
  });
});
