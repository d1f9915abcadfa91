import * as crypto from 'node:crypto';
import { expect } from 'chai';
import { lowSDer, newMessageSigner, newSigner } from '../../src/signer.js';

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** r and s out of a DER ECDSA signature, checking its framing on the way. */
function parseDer(der: Uint8Array): { r: bigint; s: bigint } {
  const b = Buffer.from(der);
  expect(b[0]).to.equal(0x30);
  expect(b[1]).to.equal(b.length - 2);
  const int = (at: number) => {
    expect(b[at]).to.equal(0x02);
    const len = b[at + 1]!;
    const v = b.subarray(at + 2, at + 2 + len);
    // Minimal: no leading zero unless the next byte's top bit is set; never negative.
    expect(v[0]! & 0x80).to.equal(0);
    if (v.length > 1 && v[0] === 0) expect(v[1]! & 0x80).to.not.equal(0);
    return { value: BigInt(`0x${v.toString('hex')}`), next: at + 2 + len };
  };
  const r = int(2);
  const s = int(r.next);
  expect(s.next).to.equal(b.length);
  return { r: r.value, s: s.value };
}

describe('native message signer (fabric-client/signer)', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

  it('signs the SHA-256 of the message: the signature verifies, in minimal DER, with a low S', async () => {
    const sign = newMessageSigner(privateKey);
    for (let i = 0; i < 200; i++) {
      const message = crypto.randomBytes(1 + i * 7);
      const der = await sign(message);
      expect(crypto.verify('sha256', message, publicKey, Buffer.from(der)), `message ${i}`).to.equal(true);
      const { s } = parseDer(der);
      expect(s <= N >> 1n, `message ${i}: S is high`).to.equal(true);
    }
  });

  it('turns a high S into n − S, which still verifies', () => {
    const message = Buffer.from('high S');
    for (let i = 0; i < 50; i++) {
      const p1363 = crypto.sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const s = BigInt(`0x${p1363.subarray(32).toString('hex')}`);
      // Both halves of the pair are valid signatures; force the high one and check it is flipped.
      const high = s > N >> 1n ? s : N - s;
      const forced = Buffer.concat([p1363.subarray(0, 32), Buffer.from(high.toString(16).padStart(64, '0'), 'hex')]);
      const der = lowSDer(forced);
      expect(parseDer(der).s).to.equal(N - high);
      expect(crypto.verify('sha256', message, publicKey, der)).to.equal(true);
    }
  });

  it('agrees with the digest signer on what verifies: both sign SHA-256(message)', async () => {
    const message = crypto.randomBytes(300);
    const viaDigest = await newSigner(privateKey)(crypto.createHash('sha256').update(message).digest());
    expect(crypto.verify('sha256', message, publicKey, Buffer.from(viaDigest))).to.equal(true);
    expect(crypto.verify('sha256', message, publicKey, Buffer.from(await newMessageSigner(privateKey)(message)))).to.equal(true);
  });

  it('refuses a key that is not P-256', () => {
    const other = crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    expect(() => newMessageSigner(other)).to.throw(/P-256/);
  });
});
