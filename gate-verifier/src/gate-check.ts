import { createHash } from 'node:crypto';
import {
  GATE_CHECK_EIP712_DOMAIN,
  GATE_CHECK_SIGNING_TYPES,
  type GateRole,
  type SignedGateCheckFields,
  type SignedGateCheckInput,
} from '@compliance-ledger/schema';
import type { Wallet } from 'ethers';
import type { GateDecision } from './verify.js';

const DOMAIN = { ...GATE_CHECK_EIP712_DOMAIN };
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
  return { check, code: s.code, signature: await device.signTypedData(DOMAIN, GATE_CHECK_SIGNING_TYPES, check) };
}
