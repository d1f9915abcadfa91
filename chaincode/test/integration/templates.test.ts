/**
 * Workflow templates as ledger data on the real network: the enterprise's safety officer
 * publishes a new version of the blind-plate template that adds an environmental impact
 * assessment step, with no code change; a permit applied before keeps its version, a permit
 * applied after must pass the new step, signed by the environment department.
 */

import type { ConnectionProfile, PermitRecord, WorkflowTemplate } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { Cast, freshWorkerIds, guardianCertificate, type Party, permitApplication, randomIdNumber, workerIdOf } from '../support/ledger';
import { requireNetwork, uniqueId } from '../support/network';

describe('network: publishing a template version that adds a step (real Fabric, CA users)', function () {
  this.timeout(300_000);
  let profile: ConnectionProfile;
  let cast: Cast;
  let officer: Party, applicant: Party, pic: Party, safety: Party, envOfficer: Party, approver2: Party, regulator: Party;
  const { W1, GUARDIAN, PIC } = freshWorkerIds('W1', 'GUARDIAN', 'PIC');
  const site = uniqueId('site');
  const workUnit = 'unit-pipes';

  const blindPlate = { operationType: 'blind_plate', level: 'single', description: 'Insert a blind plate at flange F-12', hours: 4 };
  const application = (permitNo: string, zoneId: string) =>
    permitApplication(
      { permitNo, siteId: site, zoneId, workUnit, worker: W1, personInCharge: PIC, guardian: GUARDIAN },
      { ...blindPlate, hazard: 'Residual pressure', measure: 'Depressurise and drain', location: { pipelineId: uniqueId('line') } },
    );

  before(function () {
    profile = requireNetwork(this);
    cast = new Cast(profile);
    ({ officer, applicant, pic, safety, approver: approver2, regulator } = cast.crew('tp', { workUnit, pic: PIC }));
    envOfficer = cast.person('tp-env', 'enterprise', 'safety_officer', { department: 'environment', workerId: workerIdOf(randomIdNumber()) });
  });
  after(() => cast?.close());

  it('new permits follow the published version, old permits keep theirs', async () => {
    for (const w of [W1, GUARDIAN, PIC]) await officer.submit('credential:RegisterWorker', { workerId: w });
    await officer.submit('credential:AddCertificate', guardianCertificate(uniqueId('cert-guardian'), GUARDIAN));
    const oldNo = uniqueId('BP-OLD');
    const old = await applicant.submit<PermitRecord>('permit:Apply', application(oldNo, 'rack-1'));

    const current = await regulator.evaluate<WorkflowTemplate>('template:Get', { operationType: 'blind_plate', level: 'single' });
    expect(old.value.templateVersion).to.equal(current.version);
    const { version: _v, publishedAt: _a, publishedBy: _b, ...rest } = current;
    const withEia = {
      ...rest,
      title: 'Blind plate with environmental impact assessment',
      signOffSteps: [
        {
          stepId: 'eia',
          name: 'Environmental impact assessment',
          kind: 'review',
          role: 'safety_officer',
          department: 'environment',
          distinctSigners: 1,
          atSite: false,
        },
        // Without the environment steps earlier runs of this test on the same ledger added.
        ...current.signOffSteps.filter((s) => s.department !== 'environment'),
      ],
    };
    // An applicant may not publish; the safety officer may (adding a step only tightens).
    await applicant.refused('FORBIDDEN', 'template:Publish', withEia);
    const published = await safety.submit<WorkflowTemplate>('template:Publish', withEia);
    expect(published.value.version).to.equal(current.version + 1);
    expect(published.value.publishedBy).to.include({ role: 'safety_officer', mspId: 'EnterpriseMSP' });
    expect(await regulator.evaluate<WorkflowTemplate>('template:Get', { operationType: 'blind_plate', level: 'single' })).to.deep.equal(published.value);
    const eiaStep = withEia.signOffSteps[0]!.stepId;

    const newNo = uniqueId('BP-NEW');
    const fresh = await applicant.submit<PermitRecord>('permit:Apply', application(newNo, 'rack-2'));
    expect(fresh.value.templateVersion).to.equal(published.value.version);
    for (const no of [oldNo, newNo]) await pic.submit('permit:AssessRisk', { permitNo: no, confirmations: [{ measureId: 'm1', confirmedBy: PIC }] });

    // The old permit keeps the steps of the version it was applied under (an earlier run of this
    // test on the same ledger may already have published one with an EIA step).
    expect(old.value.template.signOffSteps).to.deep.equal(current.signOffSteps);
    let oldDone = old.value;
    for (const [i, step] of current.signOffSteps.entries()) {
      const department = step.department === '$work_unit' ? workUnit : (step.department ?? undefined);
      const signer = cast.person(`tp-old-${i}`, 'enterprise', step.role, { department, workerId: workerIdOf(randomIdNumber()) });
      oldDone = (await signer.submit<PermitRecord>('permit:SignOff', { permitNo: oldNo, stepId: step.stepId, atSite: step.atSite })).value;
    }
    expect(oldDone.status).to.equal('signed_off');
    expect(oldDone.signOffs.map((x) => x.stepId)).to.deep.equal(current.signOffSteps.map((x) => x.stepId));

    await approver2.refused('INVALID_STATE', 'permit:SignOff', { permitNo: newNo, stepId: 'approval', atSite: true });
    await safety.refused('FORBIDDEN', 'permit:SignOff', { permitNo: newNo, stepId: eiaStep });
    const mid = await envOfficer.submit<PermitRecord>('permit:SignOff', { permitNo: newNo, stepId: eiaStep });
    expect(mid.value.status).to.equal('signing_off');
    const done = await approver2.submit<PermitRecord>('permit:SignOff', { permitNo: newNo, stepId: 'approval', atSite: true });
    expect(done.value.status).to.equal('signed_off');
    expect(done.value.signOffs.map((s) => [s.stepId, s.actor.department])).to.deep.equal([
      [eiaStep, 'environment'],
      ['approval', workUnit],
    ]);
  });
});
