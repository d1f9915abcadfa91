import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject, sign, verify } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The bytes a delivery's signature covers: timestamp, delivery id and the exact body, joined by
 * dots. Binding the timestamp and the id stops a captured body from being re-sent as a fresh push
 * (new timestamp) or passed off under another delivery id.
 */
export function signedBytes(timestamp: string, deliveryId: string, body: string): Buffer {
  return Buffer.from(`${timestamp}.${deliveryId}.${body}`, 'utf8');
}

export interface PushSigner {
  keyId: string;
  publicKeyPem: string;
  publicKeyJwk: JsonWebKey;
  /** The headers of one attempt: a fresh timestamp, so each attempt's signature differs. */
  headers(deliveryId: string, body: string, now?: Date): Record<string, string>;
}

/** The key id: the first 16 hex digits of SHA-256 over the public key's SPKI DER. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/**
 * Loads the Ed25519 key from a PKCS#8 PEM file, or creates it (mode 0600) on the first start so a
 * fresh install signs from the first push; the public half is published, the file never leaves.
 */
export function loadOrCreateSigner(keyFile: string): PushSigner {
  if (!existsSync(keyFile)) {
    mkdirSync(dirname(keyFile), { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  }
  const privateKey = createPrivateKey(readFileSync(keyFile));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${keyFile} is a ${privateKey.asymmetricKeyType} key; the push signature needs Ed25519`);
  return signerOf(privateKey);
}

export function signerOf(privateKey: KeyObject): PushSigner {
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  return {
    keyId,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicKeyJwk: { ...publicKey.export({ format: 'jwk' }), kid: keyId, use: 'sig', alg: 'EdDSA' } as JsonWebKey,
    headers(deliveryId, body, now = new Date()) {
      const timestamp = String(Math.floor(now.getTime() / 1000));
      return {
        'x-ledger-delivery-id': deliveryId,
        'x-ledger-timestamp': timestamp,
        'x-ledger-key-id': keyId,
        'x-ledger-signature': `ed25519=${sign(null, signedBytes(timestamp, deliveryId, body), privateKey).toString('base64')}`,
      };
    },
  };
}

export type VerifyResult = { ok: true; deliveryId: string } | { ok: false; reason: 'missing_header' | 'bad_signature' | 'stale_timestamp' | 'replayed' };

/**
 * The receiver's check, as the README documents it: the signature over timestamp.id.body with the
 * published key, a timestamp within `toleranceSeconds` of the receiver's clock, and a delivery id
 * not already accepted. An old capture fails the timestamp, a fresh re-send of an accepted one the
 * id, and any change to body, id or timestamp the signature.
 */
export function verifyDelivery(
  publicKey: KeyObject | string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: string,
  o: { toleranceSeconds?: number; now?: Date; seen?: (deliveryId: string) => boolean } = {},
): VerifyResult {
  const h = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const deliveryId = h('x-ledger-delivery-id');
  const timestamp = h('x-ledger-timestamp');
  const signature = h('x-ledger-signature');
  if (!deliveryId || !timestamp || !signature?.startsWith('ed25519=')) return { ok: false, reason: 'missing_header' };
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  if (!verify(null, signedBytes(timestamp, deliveryId, body), key, Buffer.from(signature.slice('ed25519='.length), 'base64'))) {
    return { ok: false, reason: 'bad_signature' };
  }
  const age = Math.abs((o.now ?? new Date()).getTime() / 1000 - Number(timestamp));
  if (!(age <= (o.toleranceSeconds ?? 300))) return { ok: false, reason: 'stale_timestamp' };
  if (o.seen?.(deliveryId)) return { ok: false, reason: 'replayed' };
  return { ok: true, deliveryId };
}
