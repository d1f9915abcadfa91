/**
 * A special-level (特级) hot-work permit from application to close on the real network, every
 * step submitted through the peers' gateway by a Fabric CA user whose certificate carries the
 * role (and department / worker id) the step needs, endorsed by both orgs. Checks the default
 * template, the distinct-signer rule, one event per transaction, and the history read back both
 * from the record and from the ledger (getHistoryForKey).
 */

import * as crypto from 'node:crypto';
import {
  type ConnectionProfile,
  EVENT_SCHEMA_VERSION,
  PERMIT_EVENT_TYPES,
  type PermitRecord,
  type PermitTransitionPayload,
  type WorkflowTemplate,
} from '@compliance-ledger/schema';
import { expect } from 'chai';
import { Wallet } from 'ethers';
import { Cast, certificateInput, endorsementOf, eventsOf, freshWorkerIds, guardianCertificate, HOUR, iso, MIN, type Party } from '../support/ledger';
import { requireNetwork, uniqueId } from '../support/network';

describe('network: a hot-work permit from application to close (real Fabric, CA users)', function () {
  this.timeout(300_000);
  let profile: ConnectionProfile;
  let cast: Cast;
  let officer: Party, admin: Party, applicant: Party, pic: Party, analyst: Party, safety1: Party, safety2: Party;
  let leader: Party, gate: Party, acceptor: Party, regulator: Party;
  const { W1, W2, GUARDIAN, PIC, CONFIRMER } = freshWorkerIds('W1', 'W2', 'GUARDIAN', 'PIC', 'CONFIRMER');
  const { SAFETY1, SAFETY2, LEADER, ACCEPTOR } = freshWorkerIds('SAFETY1', 'SAFETY2', 'LEADER', 'ACCEPTOR');
  const site = uniqueId('site');
  const zone = 'tank-farm-2';
  const permitNo = uniqueId('HW-S');
  const gateDevice = uniqueId('gate');
  const txIds: string[] = [];
  let firstBlock = 0n;

  before(function () {
    profile = requireNetwork(this);
    cast = new Cast(profile);
    // The leader approves for the leadership department, not the work unit: not the crew's approver.
    const crew = cast.crew('hw', { workUnit: 'leadership', pic: PIC, safety: SAFETY1, acceptor: ACCEPTOR });
    ({ officer, admin, applicant, pic, analyst, safety: safety1, gateway: gate, acceptor, regulator } = crew);
    safety2 = cast.person('hw-safety2', 'enterprise', 'safety_officer', { department: 'safety', workerId: SAFETY2 });
    leader = cast.person('hw-leader', 'enterprise', 'approver', { department: 'leadership', workerId: LEADER });
  });
  after(() => cast?.close());

  const track = <T extends { txId: string; blockNumber: bigint }>(s: T): T => {
    txIds.push(s.txId);
    if (firstBlock === 0n) firstBlock = s.blockNumber;
    return s;
  };

  it('registers the workers with welding certificates, and a gate device', async () => {
    for (const w of [W1, W2, GUARDIAN, PIC, CONFIRMER]) track(await officer.submit('credential:RegisterWorker', { workerId: w }));
    track(await officer.submit('credential:AddCertificate', guardianCertificate(`${permitNo}-cert-guardian`, GUARDIAN)));
    for (const [i, w] of [W1, W2].entries()) {
      const c = track(
        await officer.submit('credential:AddCertificate', certificateInput(`${permitNo}-cert-${i}`, w, 'welding_cutting', '熔化焊接与热切割作业')),
      );
      expect(c.value.status).to.equal('valid');
    }
    const device = track(
      await admin.submit('device:Register', { deviceId: gateDevice, siteId: site, areaId: zone, address: Wallet.createRandom().address, kind: 'gate' }),
    );
    expect(device.value).to.include({ ownerMsp: 'EnterpriseMSP', status: 'active', kind: 'gate' });
  });

  it('applies under the default GB 30871 template and runs every step by the right, distinct people', async () => {
    const template = await regulator.evaluate<WorkflowTemplate>('template:Get', { operationType: 'hot_work', level: 'special' });
    expect(template.maxValidityMinutes).to.equal(8 * 60);
    expect(template.signOffSteps.map((s) => [s.stepId, s.role, s.department, s.distinctSigners])).to.deep.equal([
      ['safety-review', 'safety_officer', 'safety', 2],
      ['approval', 'approver', 'leadership', 1],
    ]);
    expect(template.gasTest).to.include({ required: true, maxAgeMinutes: 30, retestAfterInterruptionMinutes: 30 });
    expect(template.requiredCertificateCategories).to.deep.equal(['welding_cutting']);

    const start = Date.now();
    const applied = track(
      await applicant.submit<PermitRecord>('permit:Apply', {
        permitNo,
        operationType: 'hot_work',
        level: 'special',
        location: { siteId: site, zoneId: zone, coordinates: { x: 120, y: 40 }, fireExplosionZone: true, outdoor: true, dikeId: 'dike-2' },
        workUnit: 'tank-farm-unit',
        description: 'Weld a patch on the running transfer line inside dike 2',
        plannedStart: iso(start),
        plannedEnd: iso(start + 4 * HOUR),
        workers: [W1, W2],
        personInChargeId: PIC,
        guardianId: GUARDIAN,
        hazards: [{ hazardId: 'h1', description: 'Flammable vapour near the running line' }],
        measures: [
          { measureId: 'm1', hazardId: 'h1', description: 'Isolate and purge the line section' },
          { measureId: 'm2', hazardId: 'h1', description: 'Fire watch with two extinguishers' },
        ],
      }),
    );
    expect(applied.value).to.include({ status: 'applied', level: 'special', templateVersion: template.version });
    expect(applied.value.template).to.deep.equal(template);
    expect(applied.value.history[0]!.actor).to.include({ mspId: 'EnterpriseMSP', role: 'applicant' });
    expect(applied.value.history[0]!.actor.certificateId).to.match(new RegExp(`CN=${applicant.name}`));

    track(
      await pic.submit('permit:AssessRisk', {
        permitNo,
        confirmations: [
          { measureId: 'm1', confirmedBy: CONFIRMER },
          { measureId: 'm2', confirmedBy: CONFIRMER },
        ],
      }),
    );
    const gas = track(
      await analyst.submit<PermitRecord>('permit:RecordGasTest', {
        permitNo,
        testId: 'gt-1',
        sampleTakenAt: iso(Date.now() - 5_000),
        lelClass: 'lel_ge_4',
        flammableVolPct: 0.3,
      }),
    );
    expect(gas.value.status).to.equal('gas_tested');
    expect(gas.value.gasTests[0]).to.include({ passed: true });

    // Dual review: two distinct safety officers; the same one twice is refused.
    const s1 = track(await safety1.submit<PermitRecord>('permit:SignOff', { permitNo, stepId: 'safety-review', opinion: 'Isolation verified' }));
    expect(s1.value.status).to.equal('signing_off');
    await safety1.refused('RULE_VIOLATION', 'permit:SignOff', { permitNo, stepId: 'safety-review' });
    // The approval cannot come before the review is complete.
    await leader.refused('INVALID_STATE', 'permit:SignOff', { permitNo, stepId: 'approval', atSite: true });
    track(await safety2.submit('permit:SignOff', { permitNo, stepId: 'safety-review' }));
    const approved = track(await leader.submit<PermitRecord>('permit:SignOff', { permitNo, stepId: 'approval', atSite: true, opinion: 'Approved on site' }));
    expect(approved.value.status).to.equal('signed_off');
    expect(approved.value.signOffs.map((s) => [s.stepId, s.actor.workerId, s.actor.department])).to.deep.equal([
      ['safety-review', SAFETY1, 'safety'],
      ['safety-review', SAFETY2, 'safety'],
      ['approval', LEADER, 'leadership'],
    ]);

    const issued = track(await safety1.submit<PermitRecord>('permit:Issue', { permitNo }));
    expect(issued.value.status).to.equal('issued');
    expect(Date.parse(issued.value.validUntil!) - Date.parse(issued.value.validFrom!)).to.be.at.most(4 * HOUR);
    track(await pic.submit('permit:Brief', { permitNo, briefedWorkerIds: [W1, W2] }));

    // Activation needs the gate checks of every worker and the guardian: refused before, accepted after.
    await pic.refused('RULE_VIOLATION', 'permit:Activate', { permitNo });
    for (const w of [W1, W2, GUARDIAN]) {
      const g = track(
        await gate.submit('credential:RecordGateCheck', {
          gateCheckId: uniqueId('gc'),
          permitNo,
          workerId: w,
          qr: { passed: true },
          face: { scoreBp: 9400, deviceId: gateDevice, templateSha256: crypto.createHash('sha256').update(`face-${w}`).digest('hex') },
          health: { passed: true },
        }),
      );
      expect(g.value.passed).to.equal(true);
      expect(g.value.methods.certificate.passed).to.equal(true);
    }
    const active = track(await pic.submit<PermitRecord>('permit:Activate', { permitNo }));
    expect(active.value.status).to.equal('active');
    expect(Date.now() - start).to.be.below(30 * MIN);

    const evidence = {
      permitNo,
      step: 'execution',
      cid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
      sha256: 'ab'.repeat(32),
      sizeBytes: 1_048_576,
      mediaType: 'video/mp4',
      capturedAt: iso(Date.now() - 1_000),
    };
    const ev1 = track(await pic.submit('evidence:Record', evidence));
    const ev2 = track(await pic.submit('evidence:Record', evidence));
    expect(ev2.value).to.deep.equal(ev1.value);
    expect(await regulator.evaluate('evidence:List', { permitNo })).to.have.length(1);

    track(await pic.submit('permit:Complete', { permitNo, siteRestored: true }));
    // Acceptance by a worker of the permit is refused (the acceptor must be someone else).
    const closed = track(await acceptor.submit<PermitRecord>('permit:Close', { permitNo, accepted: true, note: 'Site clean, line back in service' }));
    expect(closed.value.status).to.equal('closed');
    await pic.refused('INVALID_STATE', 'permit:Complete', { permitNo, siteRestored: true });
  });

  it('reads the whole trail back from the regulator peer: the record, the ledger history and one event per transaction', async () => {
    const view = await regulator.evaluate<PermitRecord & { recordedStatus: string }>('permit:Get', { permitNo });
    expect(view.status).to.equal('closed');

    const history = await regulator.evaluate<{ steps: PermitRecord['history']; gasTests: unknown[]; signOffs: unknown[] }>('permit:GetHistory', { permitNo });
    const expected = [
      ['apply', null, 'applied', 'applicant'],
      ['assess_risk', 'applied', 'risk_assessed', 'person_in_charge'],
      ['gas_test', 'risk_assessed', 'gas_tested', 'gas_analyst'],
      ['sign_off', 'gas_tested', 'signing_off', 'safety_officer'],
      ['sign_off', 'signing_off', 'signing_off', 'safety_officer'],
      ['sign_off', 'signing_off', 'signed_off', 'approver'],
      ['issue', 'signed_off', 'issued', 'safety_officer'],
      ['brief', 'issued', 'briefed', 'person_in_charge'],
      ['activate', 'briefed', 'active', 'person_in_charge'],
      ['complete', 'active', 'completed', 'person_in_charge'],
      ['close', 'completed', 'closed', 'acceptor'],
    ];
    expect(history.steps.map((s) => [s.action, s.from, s.to, s.actor.role])).to.deep.equal(expected);
    expect(history.gasTests).to.have.length(1);
    expect(history.signOffs).to.have.length(3);
    // Every step's time is its transaction's timestamp, in order.
    const times = history.steps.map((s) => Date.parse(s.at));
    expect([...times].sort((a, b) => a - b)).to.deep.equal(times);

    const ledger = await regulator.evaluate<{ versions: { txId: string; status: string; action: string; isDelete: boolean; at: string }[] }>(
      'permit:GetLedgerHistory',
      { permitNo },
    );
    expect(ledger.versions.map((v) => v.txId)).to.deep.equal(history.steps.map((s) => s.txId));
    expect(ledger.versions.map((v) => [v.action, v.status])).to.deep.equal(expected.map((e) => [e[0], e[2]]));
    expect(ledger.versions.map((v) => v.at)).to.deep.equal(history.steps.map((s) => s.at));

    // Every step was endorsed by both orgs and committed valid.
    for (const step of history.steps) {
      expect(await endorsementOf(regulator.conn, profile.channel, step.txId)).to.deep.equal({
        validationCode: 0,
        endorsers: ['EnterpriseMSP', 'RegulatorMSP'],
      });
    }

    const events = await eventsOf(regulator.conn, profile, firstBlock, txIds);
    expect(events.size).to.equal(txIds.length);
    for (const [txId, e] of events) {
      expect(e.name).to.equal(e.body.type);
      expect(e.body.txId).to.equal(txId);
      expect(e.body.schemaVersion).to.equal(EVENT_SCHEMA_VERSION);
    }
    const permitEvents = history.steps.map((s) => events.get(s.txId)!);
    expect(permitEvents.map((e) => e.name)).to.deep.equal(history.steps.map((s) => PERMIT_EVENT_TYPES[s.action]));
    for (const [i, e] of permitEvents.entries()) {
      const payload = e.body.payload as PermitTransitionPayload;
      expect(payload).to.include({ permitNo, action: history.steps[i]!.action, to: history.steps[i]!.to });
      // The permit itself is the transaction's write, not a second copy in the event.
      expect(payload).to.not.have.property('permit');
      expect(payload.summary).to.include({ enterpriseMsp: 'EnterpriseMSP', operationType: 'hot_work' });
      expect(e.body.at).to.equal(history.steps[i]!.at);
    }
  });
});
