import type { CertificateRecord, WorkerRecord } from '@compliance-ledger/schema';
import type { Wallet } from 'ethers';
import { signWorkerCode, workerCodePayload } from '../../../gate-verifier/src/index';
import type { Party } from './ledger';

/** A worker's current code, as the credential office issues it from the ledger's records now. */
export async function issueWorkerCode(
  reader: Party,
  workerId: string,
  office: { key: Pick<Wallet, 'signTypedData'>; officeId: string },
  ttlMs: number,
): Promise<string> {
  const worker = await reader.evaluate<WorkerRecord>('credential:GetWorker', { workerId });
  const certs = await reader.evaluate<CertificateRecord[]>('credential:ListCertificates', { workerId });
  return signWorkerCode(office.key, workerCodePayload(worker, certs, { officeId: office.officeId, enterprise: 'EnterpriseMSP', nowMs: Date.now(), ttlMs }));
}
