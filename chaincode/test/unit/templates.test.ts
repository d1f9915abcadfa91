import type { LedgerPolicy, PermitRecord, WorkflowTemplate } from '@compliance-ledger/schema';
import { expect } from 'chai';
import { defaultTemplate } from '../../src/templates';
import { application, CONFIRMER, fresh, gasTest, seed, who } from '../support/fixtures';
import { caller, workerId } from '../support/harness';

function withEia(): Record<string, unknown> {
  const base = defaultTemplate('hot_work', '2') as WorkflowTemplate;
  const { version: _v, publishedAt: _a, publishedBy: _b, operationType, level, ...rest } = base;
  return {
    ...rest,
    operationType,
    level,
    title: 'Hot work level 2 with environmental impact assessment',
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
      ...base.signOffSteps,
    ],
  };
}

describe('workflow templates as ledger data', () => {
  it('reads built-in version 1 until a new version is published', async () => {
    const h = fresh();
    const t = await h.read<WorkflowTemplate>('template', 'Get', who.regulator, { operationType: 'confined_space', level: 'single' });
    expect(t.version).to.equal(1);
    expect(t.gasTest.oxygen).to.deep.equal({ minVolPct: 19.5, maxVolPct: 21, absoluteMaxVolPct: 23.5 });
  });

  it('a safety officer publishes v2 adding a step; new permits follow it, old permits keep v1', async () => {
    const h = fresh();
    await seed(h);
    await h.ok('permit', 'Apply', who.applicant, application('OLD-1'));
    const v2 = await h.ok<WorkflowTemplate>('template', 'Publish', who.safety1, withEia());
    expect(v2.version).to.equal(2);
    expect(v2.publishedBy?.role).to.equal('safety_officer');
    expect(h.lastEvent().type).to.equal('TemplatePublished');
    const v1Again = await h.read<WorkflowTemplate>('template', 'Get', who.pic, { operationType: 'hot_work', level: '2', version: 1 });
    expect(v1Again.signOffSteps).to.have.length(1);

    const fresh2 = await h.ok<PermitRecord>('permit', 'Apply', who.applicant, application('NEW-1'));
    expect(fresh2.templateVersion).to.equal(2);
    for (const no of ['OLD-1', 'NEW-1']) {
      await h.ok('permit', 'AssessRisk', who.pic, {
        permitNo: no,
        confirmations: [
          { measureId: 'm1', confirmedBy: CONFIRMER },
          { measureId: 'm2', confirmedBy: CONFIRMER },
        ],
      });
      await h.ok('permit', 'RecordGasTest', who.analyst, gasTest(no, {}, h.now));
    }
    // the old permit is approved directly; the new one must pass the EIA first
    const old = await h.ok<PermitRecord>('permit', 'SignOff', who.approverUnit, { permitNo: 'OLD-1', stepId: 'approval', atSite: true });
    expect(old.status).to.equal('signed_off');
    await h.fails('INVALID_STATE', 'permit', 'SignOff', caller('approver', { dept: 'unit-a', workerId: workerId('another') }), {
      permitNo: 'NEW-1',
      stepId: 'approval',
      atSite: true,
    });
    await h.fails('FORBIDDEN', 'permit', 'SignOff', who.safety1, { permitNo: 'NEW-1', stepId: 'eia' });
    const env = caller('safety_officer', { dept: 'environment', workerId: workerId('env') });
    const mid = await h.ok<PermitRecord>('permit', 'SignOff', env, { permitNo: 'NEW-1', stepId: 'eia' });
    expect(mid.status).to.equal('signing_off');
    const done = await h.ok<PermitRecord>('permit', 'SignOff', caller('approver', { dept: 'unit-a', workerId: workerId('another') }), {
      permitNo: 'NEW-1',
      stepId: 'approval',
      atSite: true,
    });
    expect(done.status).to.equal('signed_off');
  });

  it('the regulator may publish; v3 follows v2', async () => {
    const h = fresh();
    await h.ok('template', 'Publish', who.safety1, withEia());
    const v3 = await h.ok<WorkflowTemplate>('template', 'Publish', who.regulator, { ...withEia(), maxValidityMinutes: 480 });
    expect(v3.version).to.equal(3);
    expect((await h.read<WorkflowTemplate>('template', 'Get', who.auditor, { operationType: 'hot_work', level: '2' })).maxValidityMinutes).to.equal(480);
  });

  it('the enterprise may tighten but not loosen GB 30871; the regulator may', async () => {
    const h = fresh();
    const t = withEia();
    const gas = t.gasTest as Record<string, unknown>;
    const loose: Record<string, unknown>[] = [
      { ...t, maxValidityMinutes: 72 * 60 + 1 },
      { ...t, gasTest: { ...gas, maxAgeMinutes: 31 } },
      { ...t, gasTest: { ...gas, retestAfterInterruptionMinutes: 61 } },
      { ...t, gasTest: { ...gas, flammableMaxVolPct: { lel_ge_4: 0.6, lel_lt_4: 0.2 } } },
      { ...t, gasTest: { ...gas, required: false } },
      { ...t, signOffSteps: (t.signOffSteps as Record<string, unknown>[]).slice(0, 1) },
      { ...t, requiredCertificateCategories: [] },
      { ...t, gateCheckRequired: false },
    ];
    for (const l of loose) await h.fails('RULE_VIOLATION', 'template', 'Publish', who.safety1, l);
    const tighter = await h.ok<WorkflowTemplate>('template', 'Publish', who.safety1, {
      ...t,
      maxValidityMinutes: 8 * 60,
      gasTest: { ...gas, maxAgeMinutes: 15, flammableMaxVolPct: { lel_ge_4: 0.3, lel_lt_4: 0.1 } },
    });
    expect(tighter.version).to.equal(2);
    const cs = defaultTemplate('confined_space', 'single') as WorkflowTemplate;
    const { version: _v, publishedAt: _a, publishedBy: _b, ...csBase } = cs;
    await h.fails('RULE_VIOLATION', 'template', 'Publish', who.safety1, {
      ...csBase,
      gasTest: { ...cs.gasTest, oxygen: { minVolPct: 19, maxVolPct: 21, absoluteMaxVolPct: 23.5 } },
    });
    // lifting validity is enterprise policy: longer is allowed
    const lift = defaultTemplate('lifting', '3') as WorkflowTemplate;
    const { version: _v2, publishedAt: _a2, publishedBy: _b2, ...liftBase } = lift;
    await h.ok('template', 'Publish', who.safety1, { ...liftBase, maxValidityMinutes: 72 * 60 });
    const special = await h.ok<WorkflowTemplate>('template', 'Publish', who.regulator, { ...t, maxValidityMinutes: 96 * 60 });
    expect(special.version).to.equal(3);
  });

  it('refuses invalid templates: unknown level, duplicate steps, a step no enterprise role can sign, bad oxygen window', async () => {
    const h = fresh();
    await h.fails('VALIDATION_FAILED', 'template', 'Publish', who.safety1, { ...withEia(), level: '3' });
    const t = withEia();
    const steps = t.signOffSteps as Record<string, unknown>[];
    await h.fails('VALIDATION_FAILED', 'template', 'Publish', who.safety1, { ...t, signOffSteps: [...steps, steps[0]] });
    await h.fails('VALIDATION_FAILED', 'template', 'Publish', who.safety1, { ...t, signOffSteps: [{ ...steps[0], role: 'regulator' }] });
    await h.fails('VALIDATION_FAILED', 'template', 'Publish', who.safety1, { ...t, signOffSteps: [] });
    await h.fails('VALIDATION_FAILED', 'template', 'Publish', who.safety1, {
      ...t,
      gasTest: { ...(t.gasTest as object), oxygen: { minVolPct: 22, maxVolPct: 21, absoluteMaxVolPct: 23.5 } },
    });
    await h.fails('FORBIDDEN', 'template', 'Publish', who.auditor, withEia());
    await h.fails('NOT_FOUND', 'template', 'Get', who.auditor, { operationType: 'hot_work', level: '2', version: 7 });
  });

  it('the policy is versioned too: a stricter alarm grade and gate window', async () => {
    const h = fresh();
    const p1 = await h.read<LedgerPolicy>('template', 'GetPolicy', who.pic, {});
    expect(p1).to.include({ version: 1, alarmSuspendMaxGrade: 2, gateCheckWindowMinutes: 60 });
    const { version: _v, publishedAt: _a, publishedBy: _b, ...rest } = p1;
    const p2 = await h.ok<LedgerPolicy>('template', 'PublishPolicy', who.regulator, { ...rest, alarmSuspendMaxGrade: 3, gateCheckWindowMinutes: 30 });
    expect(p2.version).to.equal(2);
    expect((await h.read<LedgerPolicy>('template', 'GetPolicy', who.pic, {})).alarmSuspendMaxGrade).to.equal(3);
    await h.fails('VALIDATION_FAILED', 'template', 'PublishPolicy', who.regulator, { ...rest, alarmSuspendMaxGrade: 5 });
    await h.fails('VALIDATION_FAILED', 'template', 'PublishPolicy', who.regulator, { ...rest, simopsRules: [rest.simopsRules[0], rest.simopsRules[0]] });
    await h.fails('FORBIDDEN', 'template', 'PublishPolicy', who.pic, rest);
  });
});
