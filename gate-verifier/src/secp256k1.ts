import { invert, mod } from '@noble/curves/abstract/modular';
import { secp256k1 } from '@noble/curves/secp256k1';
import { computeAddress, getAddress, Signature, SigningKey } from 'ethers';

type Point = InstanceType<typeof secp256k1.ProjectivePoint>;
const N = secp256k1.CURVE.n;
const G = secp256k1.ProjectivePoint.BASE;
const Fp = secp256k1.CURVE.Fp;
const P = Fp.ORDER;
const ENDO = secp256k1.CURVE.endo!;

/**
 * Precomputed multiples of one point, affine, for scalars below 2^130 (the halves of noble's GLV
 * split): window i holds 1..128 times 2^(8i) P, and the same for φ(P) = (β·x, y) = λ·P, so k·P is
 * k1·P + k2·φ(P) with nothing but additions (no doublings). noble's own windowed multiplication
 * walks all 33 windows of a 256-bit scalar and adds a dummy point for each zero window (constant
 * time for secret keys), four times per verification; a signature check has no secret, so only the
 * non-zero windows of the two 128-bit halves are added, each as a mixed (Jacobian + affine) addition.
 */
interface Table {
  x: bigint[];
  y: bigint[];
  /** β·x: the x of the same multiples of φ(P). */
  xEndo: bigint[];
}
const W = 8;
const WINDOW_SIZE = 2 ** (W - 1);
const WINDOWS = Math.ceil(130 / W) + 1;
const MASK = BigInt(2 ** W - 1);
const SHIFT = BigInt(W);

function table(point: Point): Table {
  const points: Point[] = [];
  let p = point;
  for (let window = 0; window < WINDOWS; window++) {
    let base = p;
    points.push(base);
    for (let i = 1; i < WINDOW_SIZE; i++) {
      base = base.add(p);
      points.push(base);
    }
    p = base.double();
  }
  // One field inversion for all of them (noble's batch normalization).
  const affine = secp256k1.ProjectivePoint.normalizeZ(points);
  const x = affine.map((a) => a.px);
  return { x, y: affine.map((a) => a.py), xEndo: x.map((v) => (v * ENDO.beta) % P) };
}

// Field arithmetic mod p = 2^256 - 2^32 - 977 on reduced values: a product is folded with
// 2^256 ≡ 2^32 + 977 (twice, then at most one subtraction), about twice as fast as BigInt's `%`.
const MASK256 = (1n << 256n) - 1n;
const FOLD = 0x1000003d1n;
function mul(a: bigint, b: bigint): bigint {
  let x = a * b;
  x = (x & MASK256) + (x >> 256n) * FOLD;
  x = (x & MASK256) + (x >> 256n) * FOLD;
  return x >= P ? x - P : x;
}
const add = (a: bigint, b: bigint) => {
  const x = a + b;
  return x >= P ? x - P : x;
};
const sub = (a: bigint, b: bigint) => (a >= b ? a - b : a - b + P);

/** A Jacobian accumulator (x = X/Z², y = Y/Z³); `inf` is the point at infinity. */
class Acc {
  X = 0n;
  Y = 0n;
  Z = 1n;
  inf = true;

  /** Adds the affine point (x, y) (madd-2007-bl for a = 0; doubling and opposite points handled). */
  add(x: bigint, y: bigint): void {
    if (this.inf) {
      this.X = x;
      this.Y = y;
      this.Z = 1n;
      this.inf = false;
      return;
    }
    const { X, Y, Z } = this;
    const zz = mul(Z, Z);
    const h = sub(mul(x, zz), X);
    const r = sub(mul(mul(y, Z), zz), Y);
    if (h === 0n) {
      if (r === 0n) this.double();
      else this.inf = true;
      return;
    }
    const rr = add(r, r);
    const hh = mul(h, h);
    const i = add(add(hh, hh), add(hh, hh));
    const j = mul(h, i);
    const v = mul(X, i);
    const x3 = sub(sub(mul(rr, rr), j), add(v, v));
    const yj = mul(Y, j);
    this.Y = sub(mul(rr, sub(v, x3)), add(yj, yj));
    // (Z + H)² - Z² - H² = 2·Z·H
    this.Z = mul(add(Z, Z), h);
    this.X = x3;
  }

  /** dbl-2009-l for a = 0. */
  private double(): void {
    const { X, Y, Z } = this;
    if (Y === 0n) {
      this.inf = true;
      return;
    }
    const a = mul(X, X);
    const b = mul(Y, Y);
    const c = mul(b, b);
    const xb = add(X, b);
    const d0 = sub(sub(mul(xb, xb), a), c);
    const d = add(d0, d0);
    const e = add(add(a, a), a);
    const x3 = sub(mul(e, e), add(d, d));
    const c2 = add(c, c);
    const c4 = add(c2, c2);
    this.Y = sub(mul(e, sub(d, x3)), add(c4, c4));
    this.Z = mul(add(Y, Y), Z);
    this.X = x3;
  }

  /** Adds k·P (k ≥ 0, below 2^130) from P's table, negated when `neg`, through the endomorphism when `endo`. */
  addMultiple(t: Table, k: bigint, neg: boolean, endo: boolean): void {
    const xs = endo ? t.xEndo : t.x;
    for (let window = 0; window < WINDOWS && k > 0n; window++) {
      let bits = Number(k & MASK);
      k >>= SHIFT;
      if (bits > WINDOW_SIZE) {
        bits -= 2 * WINDOW_SIZE;
        k += 1n;
      }
      if (bits === 0) continue;
      const at = window * WINDOW_SIZE + Math.abs(bits) - 1;
      const y = t.y[at]!;
      this.add(xs[at]!, bits < 0 !== neg ? P - y : y);
    }
  }
}

let gTable: Table | undefined;

/**
 * u1·G + u2·Q as Jacobian coordinates, or null at infinity. Exported for the unit test that holds
 * it equal to noble's multiplication, edge cases included.
 */
export function linearCombination(u1: bigint, q: Point | Table, u2: bigint): { X: bigint; Y: bigint; Z: bigint } | null {
  gTable ??= table(G);
  const qt = q instanceof secp256k1.ProjectivePoint ? table(q) : q;
  const acc = new Acc();
  for (const [t, k] of [
    [gTable, u1],
    [qt, u2],
  ] as const) {
    const { k1neg, k1, k2neg, k2 } = ENDO.splitScalar(k);
    acc.addMultiple(t, k1, k1neg, false);
    acc.addMultiple(t, k2, k2neg, true);
  }
  return acc.inf ? null : { X: acc.X, Y: acc.Y, Z: acc.Z };
}

/** The address whose key made this 65-byte signature over the 32-byte digest (a full recovery). */
export function recoverSigner(digest: string, signature: string): string {
  return getAddress(computeAddress(SigningKey.recoverPublicKey(digest, signature)));
}

/**
 * Tables of registered signers' public keys (about 380 KB and 14 ms to build each): verifying
 * against a known key costs about a seventh of recovering the key from the signature (bench/RESULTS.md,
 * 2026-12-04 and 2026-12-08). A table is kept for each of the first `maxKeys` signers seen and never
 * replaced: a signer beyond them is checked by recovery, as without tables, so that more active
 * signers than places never rebuild tables in turn (each rebuild would cost about ten recoveries).
 */
export class SignerKeys {
  private readonly tables = new Map<string, Table>();

  constructor(readonly maxKeys: number) {}

  get size(): number {
    return this.tables.size;
  }

  /**
   * Whether `address` made the 65-byte signature over the 32-byte digest (hex): a plain ECDSA
   * verification when its key is known (r and s in range, as recovery accepts them), else a
   * recovery and a comparison.
   */
  signedBy(digest: string, signature: string, address: string): boolean {
    // Addresses compared as hex, whatever their checksum casing (a registry may keep them lower case).
    const hex = address.toLowerCase();
    const key = this.tables.get(hex);
    if (key === undefined) {
      // Learned only from a signature that recovers to the expected address, so a table belongs to
      // that address; rogue signers' keys are never kept.
      const publicKey = SigningKey.recoverPublicKey(digest, signature);
      if (computeAddress(publicKey).toLowerCase() !== hex) return false;
      if (this.tables.size < this.maxKeys) this.tables.set(hex, table(secp256k1.ProjectivePoint.fromHex(publicKey.slice(2))));
      return true;
    }
    return verifiedWith(key, digest, signature);
  }
}

/** A gate sees the same few credential office keys all day. */
const officeKeys = new SignerKeys(64);

/** SignerKeys.signedBy over the gate's own tables of credential office keys. */
export function signedBy(digest: string, signature: string, address: string): boolean {
  return officeKeys.signedBy(digest, signature, address);
}

function verifiedWith(key: Table, digest: string, signature: string): boolean {
  const sig = Signature.from(signature);
  const r = BigInt(sig.r);
  const s = BigInt(sig.s);
  if (r <= 0n || r >= N || s <= 0n || s >= N) return false;
  const sInv = invert(s, N);
  const sum = linearCombination(mod(BigInt(digest) * sInv, N), key, mod(r * sInv, N));
  if (sum === null) return false;
  // The point's x must be r itself, compared in Jacobian coordinates (x = X/Z²) without an
  // inversion. ECDSA would also accept x = r + n, but a 65-byte signature's recovery byte (27 or
  // 28) names only x = r, and recovery, which the ledger's chaincode and the auditor's verifier
  // use, would refuse it.
  const zz = mul(sum.Z, sum.Z);
  if (sum.X !== mul(r, zz)) return false;
  // And the recovery byte must name this point's y (its parity): otherwise the same (r, s) with
  // the other byte would pass here while recovery refuses it, and a device's message accepted
  // here would carry a signature the ledger refuses.
  const zInv = invert(sum.Z, P);
  const y = mul(sum.Y, mul(zInv, mul(zInv, zInv)));
  return Number(y & 1n) === sig.yParity;
}
