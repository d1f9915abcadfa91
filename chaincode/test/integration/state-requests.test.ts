/**
 * What a permit:Apply asks the real peers for (chaincode/README.md, "State requests"): its reads in
 * GET_STATE_MULTIPLE requests and its writes in one WRITE_BATCH_STATE, counted by each peer itself
 * (`chaincode_shim_requests_completed` on its operations endpoint), and what it stored read back.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionProfile, PermitRecord } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { Cast, certificateInput, freshWorkerIds, guardianCertificate, type Party, permitApplication } from '../support/ledger';
import { requireNetwork, runDirOf, uniqueId } from '../support/network';

const ORGS = ['enterprise', 'regulator'] as const;

/** The peer's operations address, from the core.yaml the network scripts wrote for it. */
function operationsAddress(profile: ConnectionProfile, org: string): string {
  const core = readFileSync(join(runDirOf(profile), 'peers', org, 'core.yaml'), 'utf8');
  const m = /^operations:\s*\n(?:\s+#.*\n)*\s+listenAddress:\s*(\S+)/m.exec(core);
  if (!m) throw new Error(`no operations.listenAddress in the ${org} peer's core.yaml`);
  return m[1]!;
}

/** Successful shim requests the peer served the channel's chaincode, by message type (every deployed package summed). */
async function shimRequests(profile: ConnectionProfile, org: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://${operationsAddress(profile, org)}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('chaincode_shim_requests_completed{')) continue;
    const labels = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    if (!labels.includes(`chaincode="${profile.chaincode}_`) || !labels.includes(`channel="${profile.channel}"`) || !labels.includes('success="true"'))
      continue;
    const type = /type="([A-Z_]+)"/.exec(labels)?.[1];
    if (type !== undefined) counts.set(type, (counts.get(type) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

function delta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const [type, n] of after) if (n - (before.get(type) ?? 0) > 0) d[type] = n - (before.get(type) ?? 0);
  return d;
}

describe('network: the state requests of a permit:Apply (real Fabric)', function () {
  this.timeout(300_000);
  let profile: ConnectionProfile;
  let cast: Cast;
  let officer: Party, applicant: Party, regulator: Party;
  const { WELDER, GUARDIAN, PIC } = freshWorkerIds('WELDER', 'GUARDIAN', 'PIC');
  const site = uniqueId('site');

  before(function () {
    profile = requireNetwork(this);
    cast = new Cast(profile);
    ({ officer, applicant, regulator } = cast.crew('sr', { workUnit: 'unit-sr', pic: PIC }));
  });
  after(() => cast?.close());

  it('reads in two GET_STATE_MULTIPLE and one GET_STATE, writes in one WRITE_BATCH_STATE, on each peer', async () => {
    for (const w of [WELDER, GUARDIAN, PIC]) await officer.submit('credential:RegisterWorker', { workerId: w });
    await officer.submit('credential:AddCertificate', certificateInput(uniqueId('weld'), WELDER, 'welding_cutting', '熔化焊接与热切割作业'));
    await officer.submit('credential:AddCertificate', guardianCertificate(uniqueId('guard'), GUARDIAN));

    const permitNo = uniqueId('SR');
    const before = await Promise.all(ORGS.map((org) => shimRequests(profile, org)));
    const applied = await applicant.submit<PermitRecord>(
      'permit:Apply',
      permitApplication(
        { permitNo, siteId: site, zoneId: 'zone-1', workUnit: 'unit-sr', worker: WELDER, personInCharge: PIC, guardian: GUARDIAN },
        { operationType: 'hot_work', level: '2', description: 'Weld a bracket', hazard: 'Sparks', measure: 'Remove combustibles', hours: 4 },
      ),
    );
    const after = await Promise.all(ORGS.map((org) => shimRequests(profile, org)));
    for (const [i, org] of ORGS.entries()) {
      const d = delta(before[i]!, after[i]!);
      // One endorsement, or k if the test support endorsed again (a peer behind): k of the same.
      const k = d.WRITE_BATCH_STATE ?? 0;
      expect(k, `${org} peer: ${JSON.stringify(d)}`).to.be.greaterThan(0);
      // The policy pointer, the permit number and the crew; the template pointer (hot work without the
      // night flag waits for the policy's calendar); the crew's certificates, named in their records.
      expect(d, `${org} peer`).to.deep.equal({ GET_STATE: k, GET_STATE_MULTIPLE: 2 * k, WRITE_BATCH_STATE: k });
    }
    // What the one batch of writes stored: the record, readable on the other org's peer.
    const stored = await regulator.evaluate<PermitRecord>('permit:Get', { permitNo });
    expect(stored).to.deep.include({ permitNo, status: 'applied', workers: [WELDER], guardianId: GUARDIAN });
    expect(stored.history.map((h) => h.txId)).to.deep.equal([applied.txId]);
  });
});
