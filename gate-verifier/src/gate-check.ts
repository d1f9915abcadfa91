import { createHash } from 'node:crypto';
import {
  GATE_CHECK_EIP712_DOMAIN,
  GATE_CHECK_PHOTO_EIP712_DOMAIN,
  GATE_CHECK_PHOTO_SIGNING_TYPES,
  GATE_CHECK_SIGNING_TYPES,
  type GatePhotoMediaType,
  type GateRole,
  type SignedGateCheckFields,
  type SignedGateCheckInput,
} from '@compliance-ledger/schema';
import type { Wallet } from 'ethers';
import type { GateDecision } from './verify.js';

const DOMAIN = { ...GATE_CHECK_EIP712_DOMAIN };
const PHOTO_DOMAIN = { ...GATE_CHECK_PHOTO_EIP712_DOMAIN };
const sha256 = (data: string | Uint8Array) => `0x${createHash('sha256').update(data).digest('hex')}`;

export interface GateScan {
  gateCheckId: string;
  /** The gate's registered device id (kind `gate`); its key signs. */
  deviceId: string;
  permitNo: string;
  role: GateRole;
  /** The worker code text as scanned. */
  code: string;
  /** The verifier's decision on it (decideAtGate). */
  decision: GateDecision;
  faceMatched: boolean;
  healthDeclared: boolean;
  /**
   * The face match as the device keeps it (score, template id, photo hash...): only its sha256
   * leaves the device, so the ledger can later be shown that a kept record is the one checked.
   */
  biometricRecord: string | Uint8Array;
  /** True when the gate decided from its snapshot without reaching the ledger. */
  offline: boolean;
  checkedAt: number;
  /**
   * The photo or short clip of the person the gate took, if any: its sha256 and type are signed
   * (version 2 of the check), its bytes go to the gateway with the check and into the content store.
   */
  photo?: { bytes: Uint8Array; mediaType: GatePhotoMediaType };
}

/** The credential:RecordSignedGateCheck input for a scan, signed by the gate device's key. */
export async function signGateCheck(device: Pick<Wallet, 'signTypedData'>, s: GateScan): Promise<SignedGateCheckInput> {
  const check: SignedGateCheckFields = {
    gateCheckId: s.gateCheckId,
    deviceId: s.deviceId,
    permitNo: s.permitNo,
    role: s.role,
    codeSha256: sha256(s.code),
    decision: s.decision.pass ? 'pass' : s.decision.code,
    faceMatched: s.faceMatched,
    healthDeclared: s.healthDeclared,
    biometricSha256: sha256(s.biometricRecord),
    offline: s.offline,
    snapshotHeight: s.decision.snapshotHeight,
    checkedAt: s.checkedAt,
  };
  if (s.photo === undefined) return { check, code: s.code, signature: await device.signTypedData(DOMAIN, GATE_CHECK_SIGNING_TYPES, check) };
  const withPhoto: SignedGateCheckFields = { ...check, photoSha256: sha256(s.photo.bytes), photoType: s.photo.mediaType };
  return { check: withPhoto, code: s.code, signature: await device.signTypedData(PHOTO_DOMAIN, GATE_CHECK_PHOTO_SIGNING_TYPES, withPhoto) };
}
