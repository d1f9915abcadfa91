/**
 * ECDSA verification through WebCrypto. Fabric signs with DER-encoded (r, s) and its verifier
 * refuses a high S (s > n/2), because (r, n-s) is a second valid signature of the same message;
 * WebCrypto takes r||s of fixed width and accepts either S, so both steps are done here.
 */

import { own, toHex } from './bytes.js';
import { children, parseOne, unsignedInteger } from './der.js';

interface Curve {
  name: 'P-256' | 'P-384';
  size: number;
  order: bigint;
}

const CURVES: Record<string, Curve> = {
  '1.2.840.10045.3.1.7': { name: 'P-256', size: 32, order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n },
  '1.3.132.0.34': { name: 'P-384', size: 48, order: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n },
};

const HASHES: Record<string, 'SHA-256' | 'SHA-384'> = {
  '1.2.840.10045.4.3.2': 'SHA-256',
  '1.2.840.10045.4.3.3': 'SHA-384',
};

export class SignatureError extends Error {
  override readonly name = 'SignatureError';
}

const keyCache = new Map<string, Promise<CryptoKey>>();

function importKey(spki: Uint8Array, curve: Curve): Promise<CryptoKey> {
  const id = toHex(spki);
  let key = keyCache.get(id);
  if (!key) {
    key = globalThis.crypto.subtle.importKey('spki', own(spki), { name: 'ECDSA', namedCurve: curve.name }, false, ['verify']);
    if (keyCache.size > 1000) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

function bigintOf(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${toHex(bytes)}`);
}

/** DER (r, s) to fixed-width r||s; throws SignatureError on malformed input or a high S when lowS is required. */
export function derToRaw(der: Uint8Array, curve: Curve, requireLowS: boolean): Uint8Array<ArrayBuffer> {
  let r: Uint8Array;
  let s: Uint8Array;
  try {
    const seq = parseOne(der);
    const parts = children(seq);
    if (seq.tag !== 0x30 || parts.length !== 2) throw new Error('not a SEQUENCE of two INTEGERs');
    r = unsignedInteger(parts[0]!);
    s = unsignedInteger(parts[1]!);
  } catch (e) {
    throw new SignatureError(`malformed ECDSA signature (${(e as Error).message})`);
  }
  const sValue = bigintOf(s);
  if (bigintOf(r) === 0n || sValue === 0n || r.length > curve.size || s.length > curve.size) throw new SignatureError('ECDSA signature values out of range');
  if (requireLowS && sValue > curve.order >> 1n) throw new SignatureError('ECDSA signature has a high S value (Fabric accepts low S only)');
  const raw = new Uint8Array(curve.size * 2);
  raw.set(r, curve.size - r.length);
  raw.set(s, curve.size * 2 - s.length);
  return raw;
}

export function curveOf(curveOid: string | null): Curve {
  const curve = curveOid ? CURVES[curveOid] : undefined;
  if (!curve) throw new SignatureError(`unsupported public key (curve ${curveOid ?? 'none'}); only ECDSA P-256 and P-384 are supported`);
  return curve;
}

/**
 * Verifies `signature` (DER) over `data` with the key in `spki`. Returns false for a well-formed
 * signature that does not match; throws SignatureError for one that is malformed or high-S.
 */
export async function verifyEcdsa(
  spki: Uint8Array,
  curveOid: string | null,
  hash: 'SHA-256' | 'SHA-384',
  signature: Uint8Array,
  data: Uint8Array,
  requireLowS: boolean,
): Promise<boolean> {
  const curve = curveOf(curveOid);
  const raw = derToRaw(signature, curve, requireLowS);
  const key = await importKey(spki, curve);
  return globalThis.crypto.subtle.verify({ name: 'ECDSA', hash }, key, raw, own(data));
}

export function hashOfAlgorithm(algorithmOid: string): 'SHA-256' | 'SHA-384' {
  const h = HASHES[algorithmOid];
  if (!h) throw new SignatureError(`unsupported certificate signature algorithm ${algorithmOid}`);
  return h;
}
