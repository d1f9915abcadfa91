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
