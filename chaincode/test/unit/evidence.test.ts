import type { EvidenceRecord } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { application, fresh, HOUR, iso, seed, toActive, who } from '../support/fixtures';
import { T0 } from '../support/harness';

const CID = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi';
const CID0 = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG';

function ev(o: Record<string, unknown> = {}) {
  return {
    permitNo: 'EV-1',
    step: 'gas_test',
    cid: CID,
    sha256: 'ab'.repeat(32),
    sizeBytes: 123456,
    mediaType: 'image/jpeg',
    capturedAt: iso(T0),
    deviceId: 'cam-1',
    ...o,
  };
}

describe('evidence', () => {
  it('records evidence linked to a permit step; the same CID for the same step again is a no-op', async () => {
    const h = fresh();
    await seed(h);
    await h.ok('permit', 'Apply', who.applicant, application('EV-1'));
    const e = await h.ok<EvidenceRecord>('evidence', 'Record', who.analyst, ev());
    expect(e).to.include({ permitNo: 'EV-1', step: 'gas_test', cid: CID, sizeBytes: 123456, deviceId: 'cam-1' });
    const writes = h.ledger.state.size;
    const again = await h.submit('evidence', 'Record', who.gateway, ev());
    expect(again.ok).to.equal(true);
    expect(again.attemptedWrites).to.equal(0);
    expect(h.ledger.state.size).to.equal(writes);
    expect(JSON.parse(again.events[0]?.payload as string).payload.duplicate).to.equal(true);
    expect(JSON.parse(again.result as string).recordedBy.role).to.equal('gas_analyst');
    // the same CID for another step is a separate record
    await h.ok('evidence', 'Record', who.pic, ev({ step: 'execution', cid: CID0 }));
    await h.ok('evidence', 'Record', who.pic, ev({ step: 'execution' }));
    const list = await h.read<EvidenceRecord[]>('evidence', 'List', who.regulator, { permitNo: 'EV-1' });
    expect(list).to.have.length(3);
  });
  it('the same CID with a different hash is a conflict', async () => {
    const h = fresh();
    await seed(h);
    await h.ok('permit', 'Apply', who.applicant, application('EV-1'));
    await h.ok('evidence', 'Record', who.analyst, ev());
    await h.fails('ALREADY_EXISTS', 'evidence', 'Record', who.analyst, ev({ sha256: 'cd'.repeat(32) }));
  });
  it('refuses bad CIDs, hashes, sizes, media types, unknown permits and devices, future captures', async () => {
    const h = fresh();
    await seed(h);
    await h.ok('permit', 'Apply', who.applicant, application('EV-1'));
    await h.fails('VALIDATION_FAILED', 'evidence', 'Record', who.analyst, ev({ cid: 'not-a-cid' }));
    await h.fails('VALIDATION_FAILED', 'evidence', 'Record', who.analyst, ev({ sha256: 'AB'.repeat(32) }));
    await h.fails('VALIDATION_FAILED', 'evidence', 'Record', who.analyst, ev({ sizeBytes: 0 }));
    await h.fails('VALIDATION_FAILED', 'evidence', 'Record', who.analyst, ev({ mediaType: 'jpeg' }));
    await h.fails('VALIDATION_FAILED', 'evidence', 'Record', who.analyst, ev({ step: 'lunch' }));
    await h.fails('VALIDATION_FAILED', 'evidence', 'Record', who.analyst, ev({ capturedAt: iso(T0 + 1000) }));
    await h.fails('NOT_FOUND', 'evidence', 'Record', who.analyst, ev({ permitNo: 'EV-404' }));
    await h.fails('NOT_FOUND', 'evidence', 'Record', who.analyst, ev({ deviceId: 'cam-404' }));
    await h.fails('FORBIDDEN', 'evidence', 'Record', who.regulator, ev());
  });
  it('after expiry, only evidence captured before the end can still be attached', async () => {
    const h = fresh();
    await seed(h);
    await toActive(h, 'EV-2');
    h.now = T0 + 10 * HOUR;
    await h.ok('evidence', 'Record', who.pic, ev({ permitNo: 'EV-2', step: 'execution', capturedAt: iso(T0 + 9 * HOUR - 1) }));
    await h.fails('EXPIRED', 'evidence', 'Record', who.pic, ev({ permitNo: 'EV-2', step: 'execution', cid: CID0, capturedAt: iso(T0 + 9 * HOUR) }));
  });
});
