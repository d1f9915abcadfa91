/**
 * The worker code (one person, one code): an EIP-712 credential signed by a credential office key
 * registered on the ledger (device kind `credential_office`). Issuer, gate verifier and chaincode
 * must use exactly these definitions, so they live here and nowhere else.
 */
export const WORKER_CODE_EIP712_DOMAIN = { name: 'ComplianceLedgerWorkerCode', version: '1' } as const;

export const WORKER_CODE_EIP712_TYPES = {
  WorkerCode: [
    // Pseudonymous id (sha256 of salt + ID number): the code carries no name and no ID number.
    { name: 'workerId', type: 'string' },
    { name: 'enterprise', type: 'string' },
    // The registered credential office whose key signs.
    { name: 'officeId', type: 'string' },
    // Milliseconds since the Unix epoch.
    { name: 'issuedAt', type: 'uint64' },
    { name: 'expiresAt', type: 'uint64' },
    // The worker's credential epoch when issued: any later certificate or status change raises it,
    // so a code below the ledger's epoch is superseded or revoked.
    { name: 'epoch', type: 'uint32' },
    { name: 'certificates', type: 'CodeCertificate[]' },
  ],
  CodeCertificate: [
    { name: 'certificateId', type: 'string' },
    { name: 'category', type: 'string' },
    { name: 'validFrom', type: 'uint64' },
    { name: 'validUntil', type: 'uint64' },
    { name: 'reviewDue', type: 'uint64' },
  ],
} as const;

export interface CodeCertificate {
  certificateId: string;
  category: string;
  validFrom: number;
  validUntil: number;
  reviewDue: number;
}

export interface WorkerCodePayload {
  workerId: string;
  enterprise: string;
  officeId: string;
  issuedAt: number;
  expiresAt: number;
  epoch: number;
  certificates: CodeCertificate[];
}

/** The QR text starts with this tag: `CLW1.<base64url canonical JSON>.<base64url 65-byte signature>`. */
export const WORKER_CODE_PREFIX = 'CLW1';

export const GATE_SNAPSHOT_FORMAT = 'compliance-ledger/gate-snapshot@1';

export type GateRole = 'worker' | 'guardian';

/** What a gate needs to decide offline, taken from the ledger at `blockHeight`. */
export interface GateSnapshot {
  format: typeof GATE_SNAPSHOT_FORMAT;
  channel: string;
  /** The channel height when the snapshot was read (blocks 0..blockHeight-1 are included). */
  blockHeight: number;
  /** When it was read (ms since the Unix epoch). */
  takenAt: number;
  /** Active credential office keys: officeId → EIP-55 address. */
  signingKeys: { officeId: string; enterprise: string; address: string }[];
  /** Each crew member's current credential epoch: a code issued at a lower epoch is revoked or superseded. */
  revocationEpochs: Record<string, number>;
  permit: {
    permitNo: string;
    operationType: string;
    level: string;
    status: string;
    plannedStart: number;
    plannedEnd: number;
    workers: string[];
    guardianId: string;
    workerCategories: string[];
    guardianCategories: string[];
  };
}

/** What `credential:GateSnapshot` returns: the snapshot without the channel height, which the chaincode cannot see. */
export type GateSnapshotState = Omit<GateSnapshot, 'format' | 'channel' | 'blockHeight' | 'takenAt'>;

/** EIP-712 wants mutable field arrays; these are the frozen definitions above, copied once. */
export const WORKER_CODE_SIGNING_TYPES = {
  WorkerCode: WORKER_CODE_EIP712_TYPES.WorkerCode.map((f) => ({ name: f.name, type: f.type })),
  CodeCertificate: WORKER_CODE_EIP712_TYPES.CodeCertificate.map((f) => ({ name: f.name, type: f.type })),
};

export interface SignedWorkerCode {
  payload: WorkerCodePayload;
  /** 65-byte secp256k1 signature, 0x-hex. */
  signature: string;
}

export class MalformedCodeError extends Error {}

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

/**
 * Parses the QR text; throws MalformedCodeError with what is wrong. Does not check the signature.
 * Shared by the gate verifier and the chaincode, which re-checks the code a gate device scanned.
 */
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

/**
 * A gate check signed by the gate device itself (registered as a device of kind `gate`). The
 * chaincode verifies this signature against the device's registered address, so neither the
 * gateway nor the Fabric identity that submits it can change what the gate saw and decided.
 * The face match stays on the device: only `biometricSha256` (sha256 of the device's match record:
 * score, template id, photo hash, as the device keeps it) is signed and recorded.
 */
export const GATE_CHECK_EIP712_DOMAIN = { name: 'ComplianceLedgerGateCheck', version: '1' } as const;

export const GATE_CHECK_EIP712_TYPES = {
  GateCheck: [
    { name: 'gateCheckId', type: 'string' },
    { name: 'deviceId', type: 'string' },
    { name: 'permitNo', type: 'string' },
    { name: 'role', type: 'string' },
    // sha256 of the scanned worker code text (UTF-8).
    { name: 'codeSha256', type: 'bytes32' },
    // The gate's verifier decision: 'pass' or the refusal code (REVOKED, NOT_QUALIFIED, ...).
    { name: 'decision', type: 'string' },
    { name: 'faceMatched', type: 'bool' },
    { name: 'healthDeclared', type: 'bool' },
    { name: 'biometricSha256', type: 'bytes32' },
    // True when the gate decided from its synced snapshot without reaching the ledger.
    { name: 'offline', type: 'bool' },
    { name: 'snapshotHeight', type: 'uint64' },
    // The gate's clock (ms since the Unix epoch).
    { name: 'checkedAt', type: 'uint64' },
  ],
} as const;

export const GATE_CHECK_SIGNING_TYPES = { GateCheck: GATE_CHECK_EIP712_TYPES.GateCheck.map((f) => ({ name: f.name, type: f.type })) };

/**
 * Version 2 of the gate check adds the photo or short clip the gate took of the person: its sha256
 * and media type are signed with the rest of the check, its bytes go to the content store and never
 * into a block. A check without a photo is still signed as version 1, so gates without a camera and
 * the checks already on the ledger stay as they are.
 */
export const GATE_CHECK_PHOTO_EIP712_DOMAIN = { name: 'ComplianceLedgerGateCheck', version: '2' } as const;

export const GATE_CHECK_PHOTO_SIGNING_TYPES = {
  GateCheck: [
    ...GATE_CHECK_SIGNING_TYPES.GateCheck,
    // sha256 of the photo's bytes as stored.
    { name: 'photoSha256', type: 'bytes32' },
    // Its media type, one of GATE_PHOTO_MEDIA_TYPES; the gateway checks it against the bytes.
    { name: 'photoType', type: 'string' },
  ],
};

/** What a gate may send of the person at the gate: a still or a short clip. */
export const GATE_PHOTO_MEDIA_TYPES = ['image/jpeg', 'image/png', 'video/mp4'] as const;
export type GatePhotoMediaType = (typeof GATE_PHOTO_MEDIA_TYPES)[number];

export interface SignedGateCheckFields {
  gateCheckId: string;
  deviceId: string;
  permitNo: string;
  role: GateRole;
  codeSha256: string;
  decision: string;
  faceMatched: boolean;
  healthDeclared: boolean;
  biometricSha256: string;
  offline: boolean;
  snapshotHeight: number;
  checkedAt: number;
  /** Version 2 only (both or neither): the photo of the person at the gate, `0x` + its sha256. */
  photoSha256?: string;
  photoType?: GatePhotoMediaType;
}
