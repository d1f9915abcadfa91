import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALARM_EIP712_DOMAIN, ALARM_EIP712_TYPES, canonicalJson, GRADING_EIP712_DOMAIN, GRADING_EIP712_TYPES } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { type BaseWallet, sha256, toUtf8Bytes, Wallet } from 'ethers';
import { alarmFields } from '../../../schema/test/support/alarm-fields.js';
import { concat, pemToDer } from '../../src/bytes.js';
import { encodeTlv, encodeUnsigned } from '../../src/der.js';
import { curveOf, derToRaw, SignatureError } from '../../src/ecdsa.js';
import { ALARM_DOMAIN, ALARM_TYPES, checkGradingSignature, checkReadingSignature, GRADING_DOMAIN, GRADING_TYPES } from '../../src/eip712.js';
import { verifyBundle } from '../../src/index.js';
import { readTar, writeTar } from '../../src/tar.js';

describe('verifier (unit)', () => {
  it("keeps the same EIP-712 alarm definitions as schema (the devices' and chaincode's protocol)", () => {
    expect(ALARM_DOMAIN).to.deep.equal({ ...ALARM_EIP712_DOMAIN });
    expect(ALARM_TYPES.Alarm).to.deep.equal(ALARM_EIP712_TYPES.Alarm.map((f) => ({ ...f })));
    expect(GRADING_DOMAIN).to.deep.equal({ ...GRADING_EIP712_DOMAIN });
    expect(GRADING_TYPES.Grading).to.deep.equal(GRADING_EIP712_TYPES.Grading.map((f) => ({ ...f })));
  });

  describe('version 2 alarm records: device-signed reading, service-signed grading', () => {
    const device = Wallet.createRandom();
    const service = Wallet.createRandom();
    const fields = alarmFields({ alarmId: 'a1', deviceId: 'gas-1', areaId: 'zone-a', kind: 'oxygen_out_of_range', observedAt: 1796000000000 });
    async function record(o: { deviceKey?: BaseWallet; serviceKey?: BaseWallet; reading?: object } = {}) {
      const message = canonicalJson({
        v: 1,
        kind: 'env',
        messageId: 'm1',
        siteId: 'site-1',
        areaId: 'zone-a',
        deviceId: 'gas-1',
        observedAt: fields.observedAt,
        reading: { o2VolPct: 17 },
        ...o.reading,
      });
      const readingSha256 = sha256(toUtf8Bytes(message));
      const signature = await (o.serviceKey ?? service).signTypedData(GRADING_DOMAIN, GRADING_TYPES, { ...fields, serviceId: 'ingest-1', readingSha256 });
      return {
        ...fields,
        signatureVersion: 2,
        serviceId: 'ingest-1',
        signature,
        readingSha256,
        reading: { message, signature: await (o.deviceKey ?? device).signMessage(message), signer: '' },
      };
    }
    const deviceReg = { address: device.address, kind: 'sensor', txId: 't1' };
    const serviceReg = { address: service.address, kind: 'ingest_service', txId: 't2' };

    it('passes both checks for a genuine record', async () => {
      const r = await record();
      expect(checkReadingSignature(r, deviceReg)).to.include({ ok: true });
      expect(checkGradingSignature(r, serviceReg)).to.include({ ok: true });
    });
    it('fails the device check for a forged reading, the service check for a forged grading or a tampered field', async () => {
      expect(checkReadingSignature(await record({ deviceKey: Wallet.createRandom() }), deviceReg)).to.include({ ok: false });
      expect(checkGradingSignature(await record({ serviceKey: Wallet.createRandom() }), serviceReg)).to.include({ ok: false });
      const r = await record();
      expect(checkGradingSignature({ ...r, grade: 2 }, serviceReg)).to.include({ ok: false });
      expect(checkReadingSignature(await record({ reading: { observedAt: 1 } }), deviceReg).detail).to.match(/differs from the alarm in observedAt/);
      expect(checkGradingSignature(r, { ...serviceReg, kind: 'sensor' }).detail).to.match(/not an ingest service/);
      expect(checkGradingSignature(r, undefined)).to.include({ ok: false });
    });
    it('accepts a missing reading only for a device registered as not signing', async () => {
      const r = { ...(await record()), reading: null };
      expect(checkReadingSignature(r, deviceReg)).to.include({ ok: false });
      expect(checkReadingSignature(r, { ...deviceReg, signsReadings: false })).to.include({ ok: true });
    });
  });

  it('reads PEM blocks whose label holds digits (the X509 CRL in an MSP published by scripts/publish-crl.sh)', () => {
    expect([...pemToDer('-----BEGIN X509 CRL-----\nAAEC\n-----END X509 CRL-----\n')]).to.deep.equal([0, 1, 2]);
    expect([...pemToDer('-----BEGIN CERTIFICATE-----\nAwQ=\n-----END CERTIFICATE-----')]).to.deep.equal([3, 4]);
  });

  it('round-trips files through its tar writer and reader', () => {
    const files = new Map([
      ['manifest.json', new TextEncoder().encode('{}')],
      ['blocks/7.block', new Uint8Array(1000).fill(9)],
    ]);
    const back = readTar(writeTar(files));
    expect([...back.keys()]).to.deep.equal(['manifest.json', 'blocks/7.block']);
    expect(back.get('blocks/7.block')).to.deep.equal(files.get('blocks/7.block'));
  });

  it('refuses a tar with a corrupted header and reports an unreadable bundle as bundle.format', async () => {
    const archive = writeTar([['manifest.json', new TextEncoder().encode('{}')]]);
    archive[3]! ^= 1;
    const report = await verifyBundle(archive, { blockHash: '00'.repeat(32) });
    expect(report.ok).to.equal(false);
    expect(report.firstFailure?.id).to.equal('bundle.format');
    expect(report.firstFailure?.detail).to.match(/checksum/);
  });

  it('refuses a high-S ECDSA signature as Fabric does, and accepts the low-S twin', () => {
    const p256 = curveOf('1.2.840.10045.3.1.7');
    const sig = (s: bigint) => encodeTlv(0x30, concat(encodeUnsigned(5n), encodeUnsigned(s)));
    expect(() => derToRaw(sig(p256.order - 3n), p256, true)).to.throw(SignatureError, /high S/);
    expect(derToRaw(sig(3n), p256, true).length).to.equal(64);
  });

  it('its core uses no Node-only API (it must run in a browser)', () => {
    const dir = path.resolve(import.meta.dirname, '../../src');
    for (const f of fs.readdirSync(dir).filter((f) => f !== 'cli.ts' && f !== 'node-files.ts')) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      expect(text, f).not.to.match(/from 'node:|require\(|\bBuffer\.|process\./);
    }
  });
});
