import { invert, mod } from '@noble/curves/abstract/modular';
import { secp256k1 } from '@noble/curves/secp256k1';
import { computeAddress, getAddress, Signature, SigningKey } from 'ethers';

type Point = InstanceType<typeof secp256k1.ProjectivePoint>;
// noble's windowed multiplication with a point's precomputed tables: a method of its points that its
// types leave out. The version is pinned exactly; the unit tests hold `signedBy` equal to recovery.
type Windowed = Point & { wNAF(n: bigint): { p: Point; f: Point } };
const N = secp256k1.CURVE.n;
const G = secp256k1.ProjectivePoint.BASE;
const Fp = secp256k1.CURVE.Fp;
const ENDO = secp256k1.CURVE.endo!;

/**
 * Public keys of the registered signers seen so far, with window tables precomputed: verifying
 * against a known key with tables costs less than recovering the key from the signature, and a
 * gate sees the same few credential office keys all day.
 */
const knownKeys = new Map<string, Point>();

/** The address whose key made this 65-byte signature over the 32-byte digest (a full recovery). */
export function recoverSigner(digest: string, signature: string): string {
  return getAddress(computeAddress(SigningKey.recoverPublicKey(digest, signature)));
}

/**
 * Whether `address` made the signature: a plain ECDSA verification when its key is known (r and
 * s in range, as recovery accepts them), else a recovery and a comparison.
 */
export function signedBy(digest: string, signature: string, address: string): boolean {
  const key = knownKeys.get(address);
  if (key === undefined) {
    // Learned only from a signature that recovers to the expected address, so a table belongs to
    // that address; rogue signers' keys are never kept.
    const publicKey = SigningKey.recoverPublicKey(digest, signature);
    if (getAddress(computeAddress(publicKey)) !== address) return false;
    if (knownKeys.size < 64) {
      const point = secp256k1.ProjectivePoint.fromHex(publicKey.slice(2));
      point._setWindowSize(8);
      knownKeys.set(address, point);
    }
    return true;
  }
  const sig = Signature.from(signature);
  const r = BigInt(sig.r);
  const s = BigInt(sig.s);
  if (r <= 0n || r >= N || s <= 0n || s >= N) return false;
  const sInv = invert(s, N);
  const point = times(G, mod(BigInt(digest) * sInv, N)).add(times(key, mod(r * sInv, N)));
  if (point.equals(secp256k1.ProjectivePoint.ZERO)) return false;
  // x mod n = r, compared in projective coordinates (x = X/Z) to save a field inversion; x may
  // also be r + n when that is below the field prime.
  const { px, pz } = point;
  if (Fp.eql(px, Fp.mul(Fp.create(r), pz))) return true;
  return r + N < Fp.ORDER && Fp.eql(px, Fp.mul(Fp.create(r + N), pz));
}

/**
 * k·P with P's precomputed windows (the GLV split of noble's `multiply`), left projective: the
 * normalization `multiply` ends with costs a field inversion, and only the sum's x is needed.
 */
function times(p: Point, k: bigint): Point {
  const { k1neg, k1, k2neg, k2 } = ENDO.splitScalar(k);
  let a = (p as Windowed).wNAF(k1).p;
  let b = (p as Windowed).wNAF(k2).p;
  if (k1neg) a = a.negate();
  if (k2neg) b = b.negate();
  return a.add(new secp256k1.ProjectivePoint(Fp.mul(b.px, ENDO.beta), b.py, b.pz));
}
