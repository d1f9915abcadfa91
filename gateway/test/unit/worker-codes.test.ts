/**
 * When the gateway re-issues a worker code: the ledger's records are read on every request and a
 * new code is signed only when what the code states changed (epoch, certificates in force) or half
 * its lifetime ran. The ledger here is a table of records, the code's signature is real.
 */

import { decideAtGate, decodeWorkerCode } from '@compliance-ledger/gate-verifier';
import type { CertificateRecord, DeviceRecord, WorkerRecord } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import { ApiError } from '../../src/errors.js';
import type { WalletIdentity } from '../../src/wallet.js';
import { WorkerCodeIssuer } from '../../src/worker-codes.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-06-01T00:00:00Z');
const W = 'ab'.repeat(32);
const office = { officeId: 'office-1', wallet: new Wallet(`0x${'42'.repeat(32)}`) };

function records() {
  const worker = { docType: 'worker', workerId: W, status: 'active', credentialEpoch: 2 } as WorkerRecord;
  const cert = (id: string, validUntil: number) =>
    ({
      docType: 'certificate',
      certificateId: id,
      workerId: W,
      category: 'welding_cutting',
      status: 'valid',
      validFrom: new Date(T0 - 365 * DAY).toISOString(),
      validUntil: new Date(validUntil).toISOString(),
      reviewDue: new Date(Math.min(validUntil, T0 + 300 * DAY)).toISOString(),
    }) as CertificateRecord;
  const device = {
    docType: 'device',
    deviceId: 'office-1',
    kind: 'credential_office',
    status: 'active',
    ownerMsp: 'EnterpriseMSP',
    address: office.wallet.address,
  } as DeviceRecord;
  return { worker, certificates: [cert('c-long', T0 + 900 * DAY), cert('c-short', T0 + 2 * DAY)], device };
}

function issuerOver(r: ReturnType<typeof records>) {
  const ledger = {
    evaluate: async <T>(_id: WalletIdentity, tx: string): Promise<T> => {
      if (tx === 'credential:GetWorker') return r.worker as T;
      if (tx === 'credential:ListCertificates') return r.certificates as T;
      if (tx === 'device:Get') return r.device as T;
      throw new Error(`unexpected ${tx}`);
    },
  };
  return new WorkerCodeIssuer(office, ledger as never, 10 * DAY);
}

const id = {} as WalletIdentity;

describe('gateway: worker codes re-issued when what they state changes', () => {
  it('keeps the code while nothing changed, and re-issues on an epoch change, an expiry and at half its lifetime', async () => {
    const r = records();
    const issuer = issuerOver(r);
    const first = await issuer.current(id, W, T0);
    expect(first.reissued).to.equal(true);
    expect(first.payload.certificates.map((c) => c.certificateId)).to.deep.equal(['c-long', 'c-short']);
    expect((await issuer.current(id, W, T0 + DAY)).code).to.equal(first.code);
    expect((await issuer.current(id, W, T0 + DAY)).reissued).to.equal(false);

    // c-short expired: the next code no longer states it.
    const afterExpiry = await issuer.current(id, W, T0 + 2 * DAY + 1);
    expect(afterExpiry.reissued).to.equal(true);
    expect(afterExpiry.payload.certificates.map((c) => c.certificateId)).to.deep.equal(['c-long']);

    // A certificate change on the ledger raised the epoch (revocation here).
    r.worker = { ...r.worker, credentialEpoch: 3 };
    r.certificates = r.certificates.map((c) => (c.certificateId === 'c-long' ? { ...c, status: 'revoked' } : c));
    const afterRevocation = await issuer.current(id, W, T0 + 2 * DAY + 2);
    expect(afterRevocation).to.include({ reissued: true });
    expect(afterRevocation.payload).to.include({ epoch: 3 });
    expect(afterRevocation.payload.certificates).to.deep.equal([]);

    expect((await issuer.current(id, W, T0 + 2 * DAY + 2 + 5 * DAY - 1)).reissued).to.equal(false);
    expect((await issuer.current(id, W, T0 + 2 * DAY + 2 + 5 * DAY)).reissued).to.equal(true);
  });

  it('signs with the office key the gate verifier accepts, and refuses to issue when the ledger does not hold that key', async () => {
    const r = records();
    const { code } = await issuerOver(r).current(id, W, T0);
    expect(decodeWorkerCode(code).payload).to.include({ workerId: W, officeId: 'office-1', epoch: 2, enterprise: 'EnterpriseMSP' });
    const snapshot = {
      format: 'compliance-ledger/gate-snapshot@1' as const,
      channel: 'compliance',
      blockHeight: 9,
      takenAt: T0,
      signingKeys: [{ officeId: 'office-1', enterprise: 'EnterpriseMSP', address: office.wallet.address }],
      revocationEpochs: { [W]: 2 },
      permit: {
        permitNo: 'HW-1',
        operationType: 'hot_work',
        level: '2',
        status: 'issued',
        plannedStart: T0,
        plannedEnd: T0 + DAY,
        workers: [W],
        guardianId: 'cd'.repeat(32),
        workerCategories: ['welding_cutting'],
        guardianCategories: ['guardian'],
      },
    };
    expect(decideAtGate(code, snapshot, { permitNo: 'HW-1', role: 'worker', nowMs: T0 + 1000, maxSnapshotAgeMs: 60_000 })).to.include({ pass: true });

    for (const device of [
      { ...r.device, status: 'disabled' },
      { ...r.device, kind: 'gate' },
      { ...r.device, address: Wallet.createRandom().address },
    ] as DeviceRecord[]) {
      const err = await issuerOver({ ...r, device })
        .current(id, W, T0)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).to.be.instanceOf(ApiError);
      expect((err as ApiError).code).to.equal('CREDENTIAL_OFFICE_NOT_REGISTERED');
      expect((err as ApiError).status).to.equal(503);
    }
  });
});
