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
import { concat, getAddress, keccak256, TypedDataEncoder, type Wallet } from 'ethers';
import { recoverSigner } from './secp256k1.js';

export { decodeWorkerCode, MalformedCodeError, type SignedWorkerCode };

const DOMAIN = { ...WORKER_CODE_EIP712_DOMAIN };
// The domain separator and type hashes are the same for every code: built once, not per scan.
const ENCODER = new TypedDataEncoder(WORKER_CODE_SIGNING_TYPES);
const DOMAIN_SEPARATOR = TypedDataEncoder.hashDomain(DOMAIN);

/** Signs the payload with a credential office key (any ethers signer: Wallet, HSM-backed, ...). */
export async function signWorkerCode(signer: Pick<Wallet, 'signTypedData'>, payload: WorkerCodePayload): Promise<string> {
  return encodeWorkerCode({ payload, signature: await signer.signTypedData(DOMAIN, WORKER_CODE_SIGNING_TYPES, payload) });
}

/** The QR text: tag, canonical JSON of the payload and the raw signature, both base64url. */
export function encodeWorkerCode(code: SignedWorkerCode): string {
  const sig = Buffer.from(code.signature.slice(2), 'hex');
  return `${WORKER_CODE_PREFIX}.${Buffer.from(canonicalJson(code.payload), 'utf8').toString('base64url')}.${sig.toString('base64url')}`;
}

/** The EIP-712 digest a credential office signs for this payload. */
export function workerCodeDigest(payload: WorkerCodePayload): string {
  return keccak256(concat(['0x1901', DOMAIN_SEPARATOR, ENCODER.hash(payload)]));
}

/** The EIP-55 address whose key signed the code (any change to the payload yields another address). */
export function recoverCodeSigner(code: SignedWorkerCode): string {
  try {
    return getAddress(recoverSigner(workerCodeDigest(code.payload), code.signature));
  } catch (err) {
    throw new MalformedCodeError(`the signature cannot be verified (${err instanceof Error ? (err.message.split('(')[0]?.trim() ?? '') : 'malformed'})`);
  }
}
