import type { CertificateRecord, WorkerCodePayload, WorkerRecord } from '@compliance-ledger/schema';

export interface IssueOptions {
  officeId: string;
  enterprise: string;
  nowMs: number;
  /** How long the code is good for; changes on the ledger supersede it sooner (credential epoch). */
  ttlMs: number;
}

/**
 * The payload for a worker's current code, from the ledger's records: only certificates in force
 * now, and the worker's current credential epoch, so that a code issued after any change carries
 * that change and the codes before it are refused.
 */
export function workerCodePayload(worker: WorkerRecord, certificates: CertificateRecord[], o: IssueOptions): WorkerCodePayload {
  return {
    workerId: worker.workerId,
    enterprise: o.enterprise,
    officeId: o.officeId,
    issuedAt: o.nowMs,
    expiresAt: o.nowMs + o.ttlMs,
    epoch: worker.credentialEpoch ?? 0,
    certificates: certificates
      .filter((c) => c.workerId === worker.workerId && c.status === 'valid' && Date.parse(c.validUntil) > o.nowMs)
      .sort((a, b) => (a.certificateId < b.certificateId ? -1 : 1))
      .map((c) => ({
        certificateId: c.certificateId,
        category: c.category,
        validFrom: Date.parse(c.validFrom),
        validUntil: Date.parse(c.validUntil),
        reviewDue: Date.parse(c.reviewDue),
      })),
  };
}
