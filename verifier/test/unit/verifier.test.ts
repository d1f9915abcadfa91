import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALARM_EIP712_DOMAIN, ALARM_EIP712_TYPES } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { concat, pemToDer } from '../../src/bytes.js';
import { encodeTlv, encodeUnsigned } from '../../src/der.js';
import { curveOf, derToRaw, SignatureError } from '../../src/ecdsa.js';
import { ALARM_DOMAIN, ALARM_TYPES } from '../../src/eip712.js';
import { verifyBundle } from '../../src/index.js';
import { readTar, writeTar } from '../../src/tar.js';

describe('verifier (unit)', () => {
  it("keeps the same EIP-712 alarm definitions as schema (the devices' and chaincode's protocol)", () => {
    expect(ALARM_DOMAIN).to.deep.equal({ ...ALARM_EIP712_DOMAIN });
    expect(ALARM_TYPES.Alarm).to.deep.equal(ALARM_EIP712_TYPES.Alarm.map((f) => ({ ...f })));
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
    for (const f of fs.readdirSync(dir).filter((f) => f !== 'cli.ts')) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      expect(text, f).not.to.match(/from 'node:|require\(|\bBuffer\.|process\./);
    }
  });
});
