/**
 * The fast paths give the answers of the general ones: the signature check against a known key
 * those of recovery, the worker-code digest that of ethers' EIP-712 encoder.
 */
import { randomBytes } from 'node:crypto';
import { WORKER_CODE_EIP712_DOMAIN, WORKER_CODE_SIGNING_TYPES, type WorkerCodePayload } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { keccak256, TypedDataEncoder, Wallet } from 'ethers';
import { workerCodeDigest } from '../../src/code.js';
import { recoverSigner, signedBy } from '../../src/secp256k1.js';

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
