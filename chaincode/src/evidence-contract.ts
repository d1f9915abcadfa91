import type { EvidenceRecord } from '@compliance-ledger/schema';
import { Context, Info } from 'fabric-contract-api';
import { parseIso, toIso, txTimeIso, txTimeMs } from './clock';
import { loadDevice } from './device-contract';
import { AlreadyExistsError, ExpiredError, ValidationError } from './errors';
import { canonicalJson } from './json';
import { LedgerContract } from './ledger-contract';
import { loadPermit } from './permit-store';
import { getJson, KEYS, key, listByPartialKey, putJson } from './store';
import { Evaluate, emit, run, Submit } from './tx';
import { isExpiredAt, permitEndMs } from './validity';

/**
 * Evidence metadata (the file itself is on IPFS). Keyed by permit, step and CID, so a retried
 * upload of the same file for the same step is a no-op rather than a second record.
 */
@Info({ title: 'Evidence', description: 'Hashes and IPFS CIDs of evidence files linked to permit steps' })
export class EvidenceContract extends LedgerContract {
  constructor() {
    super('evidence');
  }

  @Submit()
  async Record(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'evidence:Record', input, async ({ actor, data: d }) => {
      const now = txTimeMs(ctx);
      const captured = parseIso(d.capturedAt);
      if (captured > now) throw new ValidationError('capturedAt is after the transaction time');
      const permit = await loadPermit(ctx, d.permitNo);
      // Uploads lag behind capture, so evidence may arrive after expiry, but only of what happened before it.
      if (isExpiredAt(permit, now) && captured >= permitEndMs(permit)) {
        throw new ExpiredError(`permit ${d.permitNo} expired at ${toIso(permitEndMs(permit))}; evidence captured after that cannot be attached to it`);
      }
      const k = key(ctx, KEYS.evidence, [d.permitNo, d.step, d.cid]);
      const existing = await getJson<EvidenceRecord>(ctx, k);
      if (existing !== undefined) {
        if (existing.sha256 !== d.sha256 || existing.sizeBytes !== d.sizeBytes || existing.mediaType !== d.mediaType) {
          throw new AlreadyExistsError(`CID ${d.cid} is already recorded for step ${d.step} with different sha256, size or media type`);
        }
        emit(ctx, 'EvidenceRecorded', { evidence: existing, duplicate: true });
        return canonicalJson(existing);
      }
      if (d.deviceId !== null) await loadDevice(ctx, d.deviceId);
      const evidence: EvidenceRecord = {
        docType: 'evidence',
        permitNo: d.permitNo,
        step: d.step,
        cid: d.cid,
        sha256: d.sha256,
        sizeBytes: d.sizeBytes,
        mediaType: d.mediaType,
        capturedAt: toIso(captured),
        deviceId: d.deviceId,
        recordedBy: actor,
        recordedAt: txTimeIso(ctx),
        txId: ctx.stub.getTxID(),
      };
      await putJson(ctx, k, evidence);
      emit(ctx, 'EvidenceRecorded', { evidence, duplicate: false });
      return canonicalJson(evidence);
    });
  }

  @Evaluate()
  async List(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'evidence:List', input, async ({ data: d }) => {
      return canonicalJson((await listByPartialKey<EvidenceRecord>(ctx, KEYS.evidence, [d.permitNo])).map((e) => e.value));
    });
  }
}
