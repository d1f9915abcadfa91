/**
 * Many permits on one site at once, on the real network. Twenty hot-work flows, each in its own
 * zone (100 m apart, beyond every SIMOPS distance) with its own welder and guardian, run all at
 * once from registration to close, with no retries: every transaction must be committed valid on
 * the first try, because no flow reads what another writes (the SIMOPS check reads only the index
 * partitions a rule could pair the permit with, see chaincode/README.md). And two permits that do
 * conflict under SIMOPS, in different zones 5 m apart, issued at once, never both become live.
 */

import type { ConnectionProfile, PermitRecord } from '@compliance-ledger/schema';
import { peer } from '@hyperledger/fabric-protos';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import {
  Cast,
  certificateInput,
  freshWorkerIds,
  guardianCertificate,
  iso,
  type Party,
  passingGateCheck,
  permitApplication,
  randomIdNumber,
  signedOffHotWork,
  workerIdOf,
} from '../support/ledger';
import { requireNetwork, uniqueId } from '../support/network';

const FLOWS = 20;
const WELDING = { operationType: 'hot_work', level: '2', description: 'Weld a support bracket', hazard: 'Sparks', measure: 'Remove combustibles within 10 m' };

describe('network: concurrent permits on one site (real Fabric)', function () {
  this.timeout(600_000);
  let profile: ConnectionProfile;
  let cast: Cast;
  let officer: Party, admin: Party, applicant: Party, pic: Party, analyst: Party, approver: Party, gate: Party, acceptor: Party, regulator: Party;
  const { PIC } = freshWorkerIds('PIC');
  const site = uniqueId('site');
  const workUnit = 'unit-cc';
  const gateDevice = uniqueId('gate');

  before(function () {
    profile = requireNetwork(this);
    cast = new Cast(profile);
    ({ officer, admin, applicant, pic, analyst, approver, gateway: gate, acceptor, regulator } = cast.crew('cc', { workUnit, pic: PIC }));
  });
  after(() => cast?.close());

  /** Every submit of the flows: what it was, and the validation code it was committed with (or the refusal). */
  interface Outcome {
    what: string;
    code: number | null;
    error?: string;
  }

  async function tracked(outcomes: Outcome[], what: string, party: Party, tx: string, input: unknown): Promise<boolean> {
    try {
      await party.submit(tx, input);
      outcomes.push({ what, code: peer.TxValidationCode.VALID });
      return true;
    } catch (err) {
      const m = /committed invalid: validation code (\d+)/.exec((err as Error).message);
      outcomes.push({ what, code: m ? Number(m[1]) : null, error: (err as Error).message });
      return false;
    }
  }

  it(`${FLOWS} unrelated hot-work flows, registration to close, all at once: every transaction valid on the first try`, async () => {
    await officer.submit('credential:RegisterWorker', { workerId: PIC });
    await admin.submit('device:Register', { deviceId: gateDevice, siteId: site, areaId: 'gate-house', address: Wallet.createRandom().address, kind: 'gate' });
    const outcomes: Outcome[] = [];
    const flow = async (i: number): Promise<boolean> => {
      const permitNo = uniqueId(`CC-${i}`);
      const welder = workerIdOf(randomIdNumber());
      const guardian = workerIdOf(randomIdNumber());
      const step = (what: string, party: Party, tx: string, input: unknown) => tracked(outcomes, `${what} #${i}`, party, tx, input);
      const steps: [string, Party, string, () => unknown][] = [
        ['register welder', officer, 'credential:RegisterWorker', () => ({ workerId: welder })],
        ['register guardian', officer, 'credential:RegisterWorker', () => ({ workerId: guardian })],
        [
          'welding certificate',
          officer,
          'credential:AddCertificate',
          () => certificateInput(`${permitNo}-weld`, welder, 'welding_cutting', '熔化焊接与热切割作业'),
        ],
        ['guardian certificate', officer, 'credential:AddCertificate', () => guardianCertificate(`${permitNo}-guard`, guardian)],
        [
          'apply',
          applicant,
          'permit:Apply',
          () =>
            permitApplication(
              { permitNo, siteId: site, zoneId: `zone-${i}`, workUnit, worker: welder, personInCharge: PIC, guardian },
              { ...WELDING, hours: 4, location: { coordinates: { x: 100 * i, y: 0 } } },
            ),
        ],
        ['assess risk', pic, 'permit:AssessRisk', () => ({ permitNo, confirmations: [{ measureId: 'm1', confirmedBy: PIC }] })],
        [
          'gas test',
          analyst,
          'permit:RecordGasTest',
          () => ({ permitNo, testId: 'gt-1', sampleTakenAt: iso(Date.now() - 2_000), lelClass: 'lel_ge_4', flammableVolPct: 0.2 }),
        ],
        ['sign off', approver, 'permit:SignOff', () => ({ permitNo, stepId: 'approval', atSite: true })],
        ['issue', approver, 'permit:Issue', () => ({ permitNo })],
        ['brief', pic, 'permit:Brief', () => ({ permitNo, briefedWorkerIds: [welder] })],
      ];
      for (const [what, party, tx, input] of steps) if (!(await step(what, party, tx, input()))) return false;
      const checkedIn = await Promise.all(
        [welder, guardian].map((w, g) =>
          step('gate check', gate, 'credential:RecordGateCheck', passingGateCheck(`${permitNo}-gc-${g}`, permitNo, w, gateDevice)),
        ),
      );
      if (checkedIn.includes(false)) return false;
      for (const [what, party, tx, input] of [
        ['activate', pic, 'permit:Activate', { permitNo }],
        ['complete', pic, 'permit:Complete', { permitNo, siteRestored: true }],
        ['close', acceptor, 'permit:Close', { permitNo, accepted: true, note: 'site clean' }],
      ] as const) {
        if (!(await step(what, party, tx, input))) return false;
      }
      const closed = await regulator.evaluate<PermitRecord>('permit:Get', { permitNo });
      expect(closed.history.map((h) => h.action)).to.deep.equal([
        'apply',
        'assess_risk',
        'gas_test',
        'sign_off',
        'issue',
        'brief',
        'activate',
        'complete',
        'close',
      ]);
      return true;
    };
    const done = await Promise.all(Array.from({ length: FLOWS }, (_, i) => flow(i)));
    const failed = outcomes.filter((o) => o.code !== peer.TxValidationCode.VALID);
    expect(failed, failed.map((o) => `${o.what}: ${o.error}`).join('\n')).to.deep.equal([]);
    expect(done.filter(Boolean)).to.have.length(FLOWS);
    expect(outcomes).to.have.length(FLOWS * 15);
    expect(await regulator.evaluate<unknown[]>('permit:ListLive', { siteId: site })).to.deep.equal([]);
  });

  it('hot work and painting 5 m apart in two zones, issued at once: one is issued, the other invalidated and then refused', async () => {
    const W1 = workerIdOf(randomIdNumber());
    const W2 = workerIdOf(randomIdNumber());
    const GUARDIAN = workerIdOf(randomIdNumber());
    for (const w of [W1, W2, GUARDIAN]) await officer.submit('credential:RegisterWorker', { workerId: w });
    await officer.submit('credential:AddCertificate', guardianCertificate(uniqueId('cert-guardian'), GUARDIAN));
    for (const [i, w] of [W1, W2].entries())
      await officer.submit('credential:AddCertificate', certificateInput(uniqueId(`weld-${i}`), w, 'welding_cutting', '熔化焊接与热切割作业'));
    const signedOff = (permitNo: string, zoneId: string, x: number, worker: string, activities: string[]) =>
      signedOffHotWork(
        { applicant, pic, analyst, approver },
        { permitNo, siteId: site, zoneId, x, worker, personInChargeId: PIC, guardianId: GUARDIAN, workUnit, activities, hours: 4 },
      );
    const hot = uniqueId('HW-near');
    const paint = uniqueId('PT-near');
    await signedOff(hot, 'zone-east', 5_000, W1, []);
    await signedOff(paint, 'zone-west', 5_005, W2, ['painting']);

    const contract = approver.contract('permit');
    const endorsed = await Promise.all([hot, paint].map((no) => contract.newProposal('Issue', { arguments: [JSON.stringify({ permitNo: no })] }).endorse()));
    const statuses = await Promise.all(endorsed.map(async (t) => (await t.submit()).getStatus()));
    expect(statuses.filter((s) => s.successful)).to.have.length(1);
    const loser = statuses.findIndex((s) => !s.successful);
    expect(statuses[loser]!.code).to.equal(peer.TxValidationCode.PHANTOM_READ_CONFLICT);
    const [winnerNo, loserNo] = loser === 0 ? [paint, hot] : [hot, paint];
    expect((await regulator.evaluate<PermitRecord>('permit:Get', { permitNo: loserNo })).status).to.equal('signed_off');
    expect(await approver.refused('RULE_VIOLATION', 'permit:Issue', { permitNo: loserNo })).to.contain(`${winnerNo} (hot-vs-painting-10m)`);
    const live = await regulator.evaluate<PermitRecord[]>('permit:ListLive', { siteId: site });
    expect(live.map((p) => p.permitNo)).to.deep.equal([winnerNo]);
  });
});
