import { createHash } from 'node:crypto';
import {
  GATE_CHECK_EIP712_DOMAIN,
  GATE_CHECK_PHOTO_EIP712_DOMAIN,
  GATE_CHECK_PHOTO_SIGNING_TYPES,
  GATE_CHECK_SIGNING_TYPES,
  type SignedGateCheckFields,
  type SignedWorkerCode,
  WORKER_CODE_EIP712_DOMAIN,
  WORKER_CODE_SIGNING_TYPES,
} from '@compliance-ledger/schema';
import { getAddress, verifyTypedData } from 'ethers';
import { SignatureInvalidError } from './errors';

const GATE_DOMAIN = { ...GATE_CHECK_EIP712_DOMAIN };
const GATE_PHOTO_DOMAIN = { ...GATE_CHECK_PHOTO_EIP712_DOMAIN };
const CODE_DOMAIN = { ...WORKER_CODE_EIP712_DOMAIN };

export function codeSha256(code: string): string {
  return `0x${createHash('sha256').update(code, 'utf8').digest('hex')}`;
}

/** Throws SIGNATURE_INVALID unless the gate device registered with `deviceAddress` signed exactly these fields. */
export function assertGateCheckSignedBy(check: SignedGateCheckFields, signature: string, deviceAddress: string): string {
  let signer: string;
  try {
    // A check with a photo is version 2; stripping its photo fields breaks the signature, so the
    // version follows from the fields and cannot be chosen to leave the photo unsigned.
    signer = getAddress(
      check.photoSha256 === undefined
        ? verifyTypedData(GATE_DOMAIN, GATE_CHECK_SIGNING_TYPES, check, signature)
        : verifyTypedData(GATE_PHOTO_DOMAIN, GATE_CHECK_PHOTO_SIGNING_TYPES, check, signature),
    );
  } catch (err) {
    throw new SignatureInvalidError(
      `the gate check signature cannot be verified (${err instanceof Error ? (err.message.split('(')[0]?.trim() ?? '') : 'malformed'})`,
    );
  }
  if (signer !== getAddress(deviceAddress)) {
    throw new SignatureInvalidError(`the gate check is not signed by the key registered for gate device ${check.deviceId} (or was changed after signing)`);
  }
  return signer;
}

/** The address that signed a worker code, or null when the signature cannot be recovered. */
export function workerCodeSigner(code: SignedWorkerCode): string | null {
  try {
    return getAddress(verifyTypedData(CODE_DOMAIN, WORKER_CODE_SIGNING_TYPES, code.payload, code.signature));
  } catch {
    return null;
  }
}
