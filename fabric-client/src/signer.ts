/**
 * Signatures as Fabric expects them: ECDSA P-256 over the SHA-256 digest, DER, with a low S (peers
 * refuse a high S; fabric-gateway's private key signer normalises it).
 */
import * as crypto from 'node:crypto';
import { type Signer, signers } from '@hyperledger/fabric-gateway';

export type { Signer } from '@hyperledger/fabric-gateway';

function keyObject(privateKey: crypto.KeyObject | string | Buffer): crypto.KeyObject {
  return privateKey instanceof crypto.KeyObject ? privateKey : crypto.createPrivateKey(privateKey);
}

/** A signer of digests (fabric-gateway's own, pure JavaScript): for a digest built elsewhere. */
export function newSigner(privateKey: crypto.KeyObject | string | Buffer): Signer {
  return signers.newPrivateKeySigner(keyObject(privateKey));
}

/** The order n of P-256's base point, and n / 2: an S above it is replaced by n − S. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_N = P256_N >> 1n;

function derInteger(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  let v = bytes.subarray(i);
  // A set top bit would read as negative: DER wants a leading zero then.
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02, v.length]), v]);
}

/** DER of (r, s) from the fixed-width r ‖ s form, S made low. */
export function lowSDer(p1363: Buffer): Buffer {
  const half = p1363.length / 2;
  let s = BigInt(`0x${p1363.subarray(half).toString('hex')}`);
  if (s > P256_HALF_N) s = P256_N - s;
  const body = Buffer.concat([derInteger(p1363.subarray(0, half)), derInteger(Buffer.from(s.toString(16).padStart(half * 2, '0'), 'hex'))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/**
 * A signer of whole messages with Node's OpenSSL (SHA-256 and ECDSA in one native call), for a
 * gateway connected with `hash.none`. fabric-gateway's signer does the curve arithmetic in
 * JavaScript: the profile of the gateway under load showed it as its largest single cost (about
 * 18 % of its CPU); the native one takes an eighth of its CPU time (`npm run bench:hot-path -w
 * gateway`). P-256 keys only, as Fabric's CAs issue.
 */
export function newMessageSigner(privateKey: crypto.KeyObject | string | Buffer): Signer {
  const key = keyObject(privateKey);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`a Fabric signing key must be ECDSA P-256, not ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`);
  }
  return async (message) => lowSDer(crypto.sign('sha256', message, { key, dsaEncoding: 'ieee-p1363' }));
}

/** The offline half of client-signed transactions: the signature over a digest someone else built (base64 in, base64 out). */
export async function signDigest(privateKey: crypto.KeyObject | string | Buffer, digestBase64: string): Promise<string> {
  return Buffer.from(await newSigner(privateKey)(Buffer.from(digestBase64, 'base64'))).toString('base64');
}
