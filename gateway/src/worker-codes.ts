/**
 * Worker codes (one person, one code), issued from the ledger's records with the enterprise's
 * credential office key (GATEWAY_CREDENTIAL_OFFICE_KEY_FILE). A code is cached per worker and
 * re-issued as soon as anything it states is no longer true: every read compares the worker's
 * credential epoch (raised by any certificate or status change on the ledger) and the set of
 * certificates in force now (an expiry drops one) with the cached code's.
 */

import { type CredentialOfficeKey, decodeWorkerCode, signWorkerCode, workerCodePayload } from '@compliance-ledger/gate-verifier';
import { type CertificateRecord, canonicalJson, type DeviceRecord, ENTERPRISE_MSP, type WorkerCodePayload, type WorkerRecord } from '@compliance-ledger/schema';
import { getAddress } from 'ethers';
import { ApiError } from './errors.js';
import type { LedgerClient } from './ledger.js';
import type { WalletIdentity } from './wallet.js';

export interface IssuedWorkerCode {
  /** The QR text. */
  code: string;
  payload: WorkerCodePayload;
  /** True when this request issued it (the first, or anything changed since the cached one). */
  reissued: boolean;
}

interface Cached {
  code: string;
  payload: WorkerCodePayload;
  /** The payload without its times: equal means nothing the code states has changed. */
  statement: string;
}

const statementOf = (p: WorkerCodePayload) => canonicalJson({ ...p, issuedAt: 0, expiresAt: 0 });

export class WorkerCodeIssuer {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly office: CredentialOfficeKey,
    private readonly ledger: Pick<LedgerClient, 'evaluate'>,
    private readonly ttlMs: number,
  ) {}

  get officeId(): string {
    return this.office.officeId;
  }

  /** The worker's current code, read as the caller (their own identity reads the ledger). */
  async current(id: WalletIdentity, workerId: string, nowMs = Date.now()): Promise<IssuedWorkerCode> {
    const worker = await this.ledger.evaluate<WorkerRecord>(id, 'credential:GetWorker', { workerId });
    const certificates = await this.ledger.evaluate<CertificateRecord[]>(id, 'credential:ListCertificates', { workerId });
    const fresh = workerCodePayload(worker, certificates, { officeId: this.office.officeId, enterprise: ENTERPRISE_MSP, nowMs, ttlMs: this.ttlMs });
    const cached = this.cache.get(workerId);
    // Half the lifetime left is the point to renew: a badge printed then still has hours to run.
    if (cached !== undefined && cached.statement === statementOf(fresh) && nowMs < cached.payload.issuedAt + this.ttlMs / 2) {
      return { code: cached.code, payload: cached.payload, reissued: false };
    }
    await this.assertRegistered(id);
    const code = await signWorkerCode(this.office.wallet, fresh);
    this.cache.set(workerId, { code, payload: decodeWorkerCode(code).payload, statement: statementOf(fresh) });
    return { code, payload: fresh, reissued: true };
  }

  /**
   * A code signed by a key the ledger does not hold as an active credential office of the
   * enterprise is refused at every gate: better to say so here than to hand out such a code.
   */
  private async assertRegistered(id: WalletIdentity): Promise<void> {
    let device: DeviceRecord;
    try {
      device = await this.ledger.evaluate<DeviceRecord>(id, 'device:Get', { deviceId: this.office.officeId });
    } catch (e) {
      if (e instanceof ApiError && e.code === 'NOT_FOUND') throw officeNotRegistered(this.office, 'is not registered as a device');
      throw e;
    }
    if (device.kind !== 'credential_office') throw officeNotRegistered(this.office, `is registered as a ${device.kind}, not a credential_office`);
    if (device.status !== 'active') throw officeNotRegistered(this.office, `is ${device.status}`);
    if (device.ownerMsp !== ENTERPRISE_MSP) throw officeNotRegistered(this.office, `belongs to ${device.ownerMsp}`);
    if (getAddress(device.address) !== this.office.wallet.address) throw officeNotRegistered(this.office, `is registered with another key (${device.address})`);
  }
}

function officeNotRegistered(office: CredentialOfficeKey, why: string): ApiError {
  return new ApiError(
    'CREDENTIAL_OFFICE_NOT_REGISTERED',
    `credential office ${office.officeId} (key ${office.wallet.address}) ${why} on the ledger; ` +
      `register that address as a device of kind credential_office (POST /v1/devices) or give the gateway the registered key file`,
  );
}
