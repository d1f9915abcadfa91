/**
 * The fast paths give the answers of the general ones: the signature check against a known key
 * those of recovery, the worker-code digest that of ethers' EIP-712 encoder.
 */
import { randomBytes } from 'node:crypto';
import { WORKER_CODE_EIP712_DOMAIN, WORKER_CODE_SIGNING_TYPES, type WorkerCodePayload } from '@compliance-ledger/schema';
import { secp256k1 } from '@noble/curves/secp256k1';
import { expect } from 'chai';
import { keccak256, TypedDataEncoder, Wallet } from 'ethers';
import { PNG } from 'pngjs';
import { workerCodeDigest } from '../../src/code.js';
import { workerCodePng } from '../../src/qr.js';
import { scanCode } from '../../src/scan.js';
import { linearCombination, recoverSigner, signedBy } from '../../src/secp256k1.js';

describe('gate-verifier: signature check against a known key', () => {
  it('agrees with recovery for many keys and digests: the signer passes, another address, another digest and a changed signature fail', () => {
    for (let i = 0; i < 40; i++) {
      const key = Wallet.createRandom();
      const digest = keccak256(randomBytes(32));
      const signature = key.signingKey.sign(digest).serialized;
      expect(recoverSigner(digest, signature)).to.equal(key.address);
      // First call recovers and learns the key, the second goes the fast way: both must agree.
      expect(signedBy(digest, signature, key.address)).to.equal(true);
      expect(signedBy(digest, signature, key.address)).to.equal(true);
      expect(signedBy(keccak256(randomBytes(32)), signature, key.address)).to.equal(false);
      expect(signedBy(digest, signature, Wallet.createRandom().address)).to.equal(false);
      const other = Wallet.createRandom().signingKey.sign(digest).serialized;
      expect(signedBy(digest, other, key.address)).to.equal(false);
      // r changed by one: a valid-looking signature that is not the key's.
      const bytes = Buffer.from(signature.slice(2), 'hex');
      bytes[31] = (bytes[31]! + 1) & 0xff;
      const changed = `0x${bytes.toString('hex')}`;
      let byRecovery: boolean;
      try {
        byRecovery = recoverSigner(digest, changed) === key.address;
      } catch {
        byRecovery = false;
      }
      expect(signedBy(digest, changed, key.address)).to.equal(byRecovery);
      // The same r and s with the other recovery byte: recovery finds another signer, and the
      // check against the known key must refuse it too.
      const flipped = `${signature.slice(0, 130)}${signature.endsWith('1b') ? '1c' : '1b'}`;
      expect(recoverSigner(digest, flipped)).to.not.equal(key.address);
      expect(signedBy(digest, flipped, key.address)).to.equal(false);
    }
  });

  it('adds u1·G + u2·Q from the precomputed tables as noble multiplies, also where the sum doubles a point or cancels out', () => {
    const n = secp256k1.CURVE.n;
    const G = secp256k1.ProjectivePoint.BASE;
    const random = () => BigInt(`0x${randomBytes(32).toString('hex')}`) % n;
    const affineX = (j: { X: bigint; Y: bigint; Z: bigint } | null) => {
      if (j === null) return null;
      const p = secp256k1.CURVE.Fp;
      return p.mul(j.X, p.inv(p.sqr(j.Z)));
    };
    const expected = (u1: bigint, q: typeof G, u2: bigint) => {
      const sum = G.multiplyUnsafe(u1).add(q.multiplyUnsafe(u2));
      return sum.equals(secp256k1.ProjectivePoint.ZERO) ? null : sum.toAffine().x;
    };
    const q = G.multiply(random());
    for (let i = 0; i < 20; i++) {
      const [u1, u2] = [random(), random()];
      expect(affineX(linearCombination(u1, q, u2))).to.equal(expected(u1, q, u2));
    }
    const k = random();
    // With Q = G: the same point twice (a doubling inside the sum), opposite points (infinity), and zero scalars.
    for (const [u1, u2] of [
      [k, k],
      [k, n - k],
      [0n, k],
      [k, 0n],
      [1n, n - 1n],
      [2n ** 128n, 2n ** 128n],
    ] as const) {
      expect(affineX(linearCombination(u1, G, u2)), `${u1}, ${u2}`).to.equal(expected(u1, G, u2));
    }
  });

  it('hashes a worker code as ethers does, for every field and any number of certificates', () => {
    const id = () => randomBytes(6).toString('hex');
    const ms = () => Math.floor(Math.random() * 2 ** 48);
    for (let n = 0; n <= 4; n++) {
      const p: WorkerCodePayload = {
        workerId: randomBytes(32).toString('hex'),
        enterprise: 'EnterpriseMSP',
        officeId: `office-${id()}`,
        issuedAt: ms(),
        expiresAt: ms(),
        epoch: Math.floor(Math.random() * 0xffffffff),
        certificates: Array.from({ length: n }, () => ({ certificateId: id(), category: `焊接-${id()}`, validFrom: ms(), validUntil: ms(), reviewDue: ms() })),
      };
      const expected = TypedDataEncoder.hash({ ...WORKER_CODE_EIP712_DOMAIN }, WORKER_CODE_SIGNING_TYPES, p);
      expect(workerCodeDigest(p)).to.equal(expected);
      // Twice: the second time from the kept string hashes.
      expect(workerCodeDigest(p)).to.equal(expected);
    }
  });
});

describe('gate-verifier: reading the code from an image', () => {
  const text = `CLW1.${'p'.repeat(600)}.${'s'.repeat(87)}`;
  it('reads a large badge from the reduced image, a small one as it is, and a small code in a large frame at full resolution', async () => {
    const large = PNG.sync.read(await workerCodePng(text, 6));
    expect(Math.min(large.width, large.height)).to.be.at.least(600);
    expect(scanCode(large)).to.equal(text);
    const small = PNG.sync.read(await workerCodePng(text, 2));
    expect(scanCode(small)).to.equal(text);
    // The small code pasted into a white 1200×1200 frame: too small once the frame is reduced, found by the full pass.
    const frame = new PNG({ width: 1200, height: 1200 });
    frame.data.fill(255);
    PNG.bitblt(small, frame, 0, 0, small.width, small.height, 300, 300);
    expect(scanCode(frame)).to.equal(text);
    const blank = new PNG({ width: 700, height: 700 });
    blank.data.fill(255);
    expect(scanCode(blank)).to.equal(null);
  });
});
