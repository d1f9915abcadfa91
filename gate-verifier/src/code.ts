import {
  type CodeCertificate,
  canonicalJson,
  WORKER_CODE_EIP712_DOMAIN,
  WORKER_CODE_EIP712_TYPES,
  WORKER_CODE_PREFIX,
  type WorkerCodePayload,
} from '@compliance-ledger/schema';
import { getAddress, verifyTypedData, type Wallet } from 'ethers';

// ethers wants mutable field arrays; the shared definition is frozen `as const`.
const TYPES = {
  WorkerCode: WORKER_CODE_EIP712_TYPES.WorkerCode.map((f) => ({ name: f.name, type: f.type })),
  CodeCertificate: WORKER_CODE_EIP712_TYPES.CodeCertificate.map((f) => ({ name: f.name, type: f.type })),
};
const DOMAIN = { ...WORKER_CODE_EIP712_DOMAIN };

export interface SignedWorkerCode {
  payload: WorkerCodePayload;
  /** 65-byte secp256k1 signature, 0x-hex. */
  signature: string;
}

export class MalformedCodeError extends Error {}

/** Signs the payload with a credential office key (any ethers signer: Wallet, HSM-backed, ...). */
export async function signWorkerCode(signer: Pick<Wallet, 'signTypedData'>, payload: WorkerCodePayload): Promise<string> {
  return encodeWorkerCode({ payload, signature: await signer.signTypedData(DOMAIN, TYPES, payload) });
}

/** The QR text: tag, canonical JSON of the payload and the raw signature, both base64url. */
export function encodeWorkerCode(code: SignedWorkerCode): string {
  const sig = Buffer.from(code.signature.slice(2), 'hex');
  return `${WORKER_CODE_PREFIX}.${Buffer.from(canonicalJson(code.payload), 'utf8').toString('base64url')}.${sig.toString('base64url')}`;
}

const isUint = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max;
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128;

function parseCertificate(v: unknown): CodeCertificate {
  const c = v as Record<string, unknown>;
  if (typeof c !== 'object' || c === null || Object.keys(c).length !== 5) throw new MalformedCodeError('a certificate entry has missing or extra fields');
  if (!isId(c.certificateId) || !isId(c.category)) throw new MalformedCodeError('a certificate entry lacks its id or category');
  for (const f of ['validFrom', 'validUntil', 'reviewDue'] as const)
    if (!isUint(c[f], Number.MAX_SAFE_INTEGER)) throw new MalformedCodeError(`certificate ${f} is not a time`);
  return c as unknown as CodeCertificate;
}

/** Parses the QR text; throws MalformedCodeError with what is wrong. Does not check the signature. */
export function decodeWorkerCode(text: string): SignedWorkerCode {
  const parts = text.trim().split('.');
  if (parts.length !== 3 || parts[0] !== WORKER_CODE_PREFIX)
    throw new MalformedCodeError(`not a worker code (expected ${WORKER_CODE_PREFIX}.<payload>.<signature>)`);
  const sig = Buffer.from(parts[2] ?? '', 'base64url');
  if (sig.length !== 65) throw new MalformedCodeError('the signature is not 65 bytes');
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new MalformedCodeError('the payload is not JSON');
  }
  if (typeof p !== 'object' || p === null || Object.keys(p).length !== 7) throw new MalformedCodeError('the payload has missing or extra fields');
  if (!isId(p.workerId) || !isId(p.enterprise) || !isId(p.officeId)) throw new MalformedCodeError('the payload lacks workerId, enterprise or officeId');
  if (!isUint(p.issuedAt, Number.MAX_SAFE_INTEGER) || !isUint(p.expiresAt, Number.MAX_SAFE_INTEGER) || !isUint(p.epoch, 0xffffffff)) {
    throw new MalformedCodeError('issuedAt, expiresAt or epoch is not a whole number');
  }
  if (!Array.isArray(p.certificates) || p.certificates.length > 20) throw new MalformedCodeError('certificates must be a list of at most 20');
  const payload: WorkerCodePayload = {
    workerId: p.workerId,
    enterprise: p.enterprise,
    officeId: p.officeId,
    issuedAt: p.issuedAt,
    expiresAt: p.expiresAt,
    epoch: p.epoch,
    certificates: p.certificates.map(parseCertificate),
  };
  return { payload, signature: `0x${sig.toString('hex')}` };
}

/** The EIP-55 address whose key signed the code (any change to the payload yields another address). */
export function recoverCodeSigner(code: SignedWorkerCode): string {
  try {
    return getAddress(verifyTypedData(DOMAIN, TYPES, code.payload, code.signature));
  } catch (err) {
    throw new MalformedCodeError(`the signature cannot be verified (${err instanceof Error ? (err.message.split('(')[0]?.trim() ?? '') : 'malformed'})`);
  }
}
