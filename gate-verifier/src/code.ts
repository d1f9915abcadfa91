import {
  canonicalJson,
  decodeWorkerCode,
  MalformedCodeError,
  type SignedWorkerCode,
  WORKER_CODE_EIP712_DOMAIN,
  WORKER_CODE_PREFIX,
  WORKER_CODE_SIGNING_TYPES,
  type WorkerCodePayload,
} from '@compliance-ledger/schema';
import { keccak_256 } from '@noble/hashes/sha3';
import { getAddress, TypedDataEncoder, type Wallet } from 'ethers';
import { recoverSigner } from './secp256k1.js';

export { decodeWorkerCode, MalformedCodeError, type SignedWorkerCode };

const DOMAIN = { ...WORKER_CODE_EIP712_DOMAIN };
// The domain separator and the type hashes are the same for every code: computed once, by ethers.
const ENCODER = new TypedDataEncoder(WORKER_CODE_SIGNING_TYPES);
const hex = (h: string) => Buffer.from(h.slice(2), 'hex');
const DOMAIN_SEPARATOR = hex(TypedDataEncoder.hashDomain(DOMAIN));
const CODE_TYPE_HASH = keccak_256(Buffer.from(ENCODER.encodeType('WorkerCode'), 'utf8'));
const CERTIFICATE_TYPE_HASH = keccak_256(Buffer.from(ENCODER.encodeType('CodeCertificate'), 'utf8'));
const PREFIX = Buffer.from([0x19, 0x01]);

// Enterprise, office, categories, certificate and worker ids recur from code to code: their hashes
// are kept (bounded), and only the per-code structs are hashed afresh.
const textHashes = new Map<string, Uint8Array>();
function text(s: string): Uint8Array {
  let h = textHashes.get(s);
  if (h === undefined) {
    h = keccak_256(Buffer.from(s, 'utf8'));
    if (textHashes.size >= 4096) textHashes.clear();
    textHashes.set(s, h);
  }
  return h;
}
/** A uint as its 32-byte big-endian word (the values are safe integers, checked when decoded). */
function word(n: number): Buffer {
  const w = Buffer.alloc(32);
  w.writeBigUInt64BE(BigInt(n), 24);
  return w;
}

/** Signs the payload with a credential office key (any ethers signer: Wallet, HSM-backed, ...). */
export async function signWorkerCode(signer: Pick<Wallet, 'signTypedData'>, payload: WorkerCodePayload): Promise<string> {
  return encodeWorkerCode({ payload, signature: await signer.signTypedData(DOMAIN, WORKER_CODE_SIGNING_TYPES, payload) });
}

/** The QR text: tag, canonical JSON of the payload and the raw signature, both base64url. */
export function encodeWorkerCode(code: SignedWorkerCode): string {
  const sig = Buffer.from(code.signature.slice(2), 'hex');
  return `${WORKER_CODE_PREFIX}.${Buffer.from(canonicalJson(code.payload), 'utf8').toString('base64url')}.${sig.toString('base64url')}`;
}

/**
 * The EIP-712 digest a credential office signs for this payload, hashed directly from the fixed
 * `WorkerCode` layout (ethers' generic encoder costs about ten times as much per code). A unit test
 * holds it equal to ethers' `TypedDataEncoder.hash` for every field.
 */
export function workerCodeDigest(p: WorkerCodePayload): string {
  const certificates = keccak_256(
    Buffer.concat(
      p.certificates.map((c) =>
        keccak_256(Buffer.concat([CERTIFICATE_TYPE_HASH, text(c.certificateId), text(c.category), word(c.validFrom), word(c.validUntil), word(c.reviewDue)])),
      ),
    ),
  );
  const struct = keccak_256(
    Buffer.concat([CODE_TYPE_HASH, text(p.workerId), text(p.enterprise), text(p.officeId), word(p.issuedAt), word(p.expiresAt), word(p.epoch), certificates]),
  );
  return `0x${Buffer.from(keccak_256(Buffer.concat([PREFIX, DOMAIN_SEPARATOR, struct]))).toString('hex')}`;
}

/** The EIP-55 address whose key signed the code (any change to the payload yields another address). */
export function recoverCodeSigner(code: SignedWorkerCode): string {
  try {
    return getAddress(recoverSigner(workerCodeDigest(code.payload), code.signature));
  } catch (err) {
    throw new MalformedCodeError(`the signature cannot be verified (${err instanceof Error ? (err.message.split('(')[0]?.trim() ?? '') : 'malformed'})`);
  }
}
