/**
 * SIMOPS on the real network: two conflicting permits in the same area (hot work, and hot work
 * with painting 5 m away) issued at the same moment.
 * Each Issue range-reads the SIMOPS index partitions the other one is filed in (hot work reads the
 * painting partition; painting with hot work reads the hot-work one) and adds its own entries, so
 * Fabric re-checks the ranges at commit: the second in the block is PHANTOM_READ_CONFLICT (or
 * MVCC_READ_CONFLICT) and writes nothing; issued again, it sees the first and is refused.
 */

import type { ConnectionProfile, PermitRecord } from '@compliance-ledger/schema';
import { peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { Cast, certificateInput, freshWorkerIds, guardianCertificate, type Party, signedOffHotWork } from '../support/ledger';
import { requireNetwork, uniqueId } from '../support/network';

describe('network: SIMOPS, two conflicting permits in one area issued at once (real Fabric)', function () {
  this.timeout(300_000);
  let profile: ConnectionProfile;
  let cast: Cast;
  let officer: Party, applicant: Party, pic: Party, analyst: Party, approver: Party, regulator: Party;
  const { W1, W2, GUARDIAN, PIC } = freshWorkerIds('W1', 'W2', 'GUARDIAN', 'PIC');
  const site = uniqueId('site');
  const zone = 'pipe-rack-3';
  const workUnit = 'unit-rack';

  before(function () {
    profile = requireNetwork(this);
    cast = new Cast(profile);
    ({ officer, applicant, pic, analyst, approver, regulator } = cast.crew('sm', { workUnit, pic: PIC }));
  });
  after(() => cast?.close());

  const signedOff = (permitNo: string, worker: string, x: number, activities: string[]) =>
    signedOffHotWork(
      { applicant, pic, analyst, approver },
      { permitNo, siteId: site, zoneId: zone, x, worker, personInChargeId: PIC, guardianId: GUARDIAN, workUnit, activities, hours: 8 },
    );

  it('one is issued, the other is invalidated at commit and then refused as a conflict', async () => {
    for (const w of [W1, W2, GUARDIAN, PIC]) await officer.submit('credential:RegisterWorker', { workerId: w });
    await officer.submit('credential:AddCertificate', guardianCertificate(uniqueId('cert-guardian'), GUARDIAN));
    for (const [i, w] of [W1, W2].entries()) {
      await officer.submit('credential:AddCertificate', certificateInput(uniqueId(`weld-${i}`), w, 'welding_cutting', '熔化焊接与热切割作业'));
    }
    // Hot work, and painting (with hot work) 5 m away in the same area: DOMAIN.md's "no painting
    // within 10 m during hot work".
    const a = uniqueId('HW-A');
    const b = uniqueId('HW-B');
    await signedOff(a, W1, 0, []);
    await signedOff(b, W2, 5, ['painting']);

    const contract = approver.contract('permit');
    const endorsed = await Promise.all([a, b].map((no) => contract.newProposal('Issue', { arguments: [JSON.stringify({ permitNo: no })] }).endorse()));
    const statuses = await Promise.all(endorsed.map(async (t) => (await t.submit()).getStatus()));
    expect(statuses.filter((s) => s.successful)).to.have.length(1);
    const loser = statuses.findIndex((s) => !s.successful);
    expect([peer.TxValidationCode.PHANTOM_READ_CONFLICT, peer.TxValidationCode.MVCC_READ_CONFLICT]).to.include(statuses[loser]!.code);
    const [winnerNo, loserNo] = loser === 0 ? [b, a] : [a, b];

    expect((await regulator.evaluate<PermitRecord>('permit:Get', { permitNo: winnerNo })).status).to.equal('issued');
    expect((await regulator.evaluate<PermitRecord>('permit:Get', { permitNo: loserNo })).status).to.equal('signed_off');
    const m = await approver.refused('RULE_VIOLATION', 'permit:Issue', { permitNo: loserNo });
    expect(m).to.contain(winnerNo);
    expect((await regulator.evaluate<{ permitNo: string }[]>('permit:ListLive', { siteId: site, areaId: zone })).map((p) => p.permitNo)).to.deep.equal([
      winnerNo,
    ]);
  });
});
