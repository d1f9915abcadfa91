import { invert, mod } from '@noble/curves/abstract/modular';
import { secp256k1 } from '@noble/curves/secp256k1';
import { computeAddress, getAddress, Signature, SigningKey } from 'ethers';

type Point = InstanceType<typeof secp256k1.ProjectivePoint>;
const N = secp256k1.CURVE.n;
const G = secp256k1.ProjectivePoint.BASE;

/**
 * Public keys of the registered signers seen so far, with window tables precomputed: verifying
 * against a known key with tables costs less than recovering the key from the signature, and a
 * gate sees the same few credential office keys all day.
 */
const knownKeys = new Map<string, Point>();

/** The address whose key made this 65-byte signature over the 32-byte digest (a full recovery). */
export function recoverSigner(digest: string, signature: string): string {
  const publicKey = SigningKey.recoverPublicKey(digest, signature);
  const address = getAddress(computeAddress(publicKey));
  if (!knownKeys.has(address) && knownKeys.size < 64) {
    const point = secp256k1.ProjectivePoint.fromHex(publicKey.slice(2));
    point._setWindowSize(8);
    knownKeys.set(address, point);
  }
  return address;
}

/**
 * Whether `address` made the signature: a plain ECDSA verification when its key is known (r and
 * s in range, as recovery accepts them), else a recovery and a comparison.
 */
export function signedBy(digest: string, signature: string, address: string): boolean {
  const key = knownKeys.get(address);
  if (key === undefined) return recoverSigner(digest, signature) === address;
  const sig = Signature.from(signature);
  const r = BigInt(sig.r);
  const s = BigInt(sig.s);
  if (r <= 0n || r >= N || s <= 0n || s >= N) return false;
  const sInv = invert(s, N);
  const point = G.multiply(mod(BigInt(digest) * sInv, N)).add(key.multiply(mod(r * sInv, N)));
  return !point.equals(secp256k1.ProjectivePoint.ZERO) && mod(point.toAffine().x, N) === r;
}
