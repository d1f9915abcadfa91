import { accessRowOf, ENTERPRISE_MSP, type LedgerPolicy, type OperationType, type WorkflowTemplate } from '@compliance-ledger/schema';
import { Context, Info } from 'fabric-contract-api';
import { TX_ACCESS } from './access';
import { txTimeIso } from './clock';
import { NotFoundError, RuleViolationError, ValidationError } from './errors';
import { canonicalJson } from './json';
import { LedgerContract } from './ledger-contract';
import { getJson, KEYS, key, padVersion, putJson } from './store';
import { DEFAULT_POLICY, defaultTemplate, isKnownLevel, loosenings } from './templates';
import { Evaluate, emit, run, Submit } from './tx';

/** The pointer to a type and level's latest published template (absent: built-in v1). */
export function templateLatestKey(ctx: Context, operationType: string, level: string): string {
  return key(ctx, KEYS.templateLatest, [operationType, level]);
}

/** The pointer to the latest published ledger policy (absent: the default policy). */
export function policyLatestKey(ctx: Context): string {
  return key(ctx, KEYS.policyLatest, []);
}

/** The newest template for a type and level: the latest published version, else built-in v1. */
export async function loadTemplate(ctx: Context, operationType: OperationType, level: string, version?: number): Promise<WorkflowTemplate> {
  if (version === 1) {
    const d = defaultTemplate(operationType, level);
    if (d === undefined) throw new NotFoundError(`no template for ${operationType} level ${level}`);
    return d;
  }
  if (version !== undefined) {
    const t = await getJson<WorkflowTemplate>(ctx, key(ctx, KEYS.template, [operationType, level, padVersion(version)]));
    if (t === undefined) throw new NotFoundError(`template ${operationType} level ${level} has no version ${version}`);
    return t;
  }
  const latest = await getJson<{ version: number }>(ctx, templateLatestKey(ctx, operationType, level));
  return loadTemplate(ctx, operationType, level, latest?.version ?? 1);
}

export async function loadPolicy(ctx: Context): Promise<LedgerPolicy> {
  const latest = await getJson<{ version: number }>(ctx, policyLatestKey(ctx));
  if (latest === undefined) return DEFAULT_POLICY;
  const p = await getJson<LedgerPolicy>(ctx, key(ctx, KEYS.policy, [padVersion(latest.version)]));
  if (p === undefined) throw new NotFoundError(`policy version ${latest.version} is missing`);
  return p;
}

/**
 * Workflow templates and the ledger policy as versioned data. Publishing appends a version;
 * nothing is overwritten, and permits keep a copy of the version they were created under.
 */
@Info({ title: 'Templates', description: 'Versioned workflow templates per operation type and level, and the ledger policy' })
export class TemplateContract extends LedgerContract {
  constructor() {
    super('template');
  }

  @Submit()
  async Publish(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'template:Publish', input, async ({ actor, data }) => {
      if (!isKnownLevel(data.operationType, data.level)) {
        throw new ValidationError(`level ${data.level} does not exist for ${data.operationType}`);
      }
      const signerRoles = TX_ACCESS['permit:SignOff']?.[ENTERPRISE_MSP] ?? [];
      const badStep = data.signOffSteps.find((s) => !signerRoles.includes(s.role));
      if (badStep !== undefined) {
        throw new ValidationError(`step ${badStep.stepId} names role ${badStep.role}, which cannot sign permits; use one of ${signerRoles.join(', ')}`);
      }
      const standard = defaultTemplate(data.operationType, data.level);
      const looser = standard === undefined ? [] : loosenings(data, standard);
      if (looser.length > 0 && accessRowOf(actor.mspId) === ENTERPRISE_MSP) {
        throw new RuleViolationError(`this template is looser than GB 30871 (${looser.join('; ')}); only the regulator may publish that`);
      }
      const current = await loadTemplate(ctx, data.operationType, data.level);
      const template: WorkflowTemplate = { ...data, version: current.version + 1, publishedBy: actor, publishedAt: txTimeIso(ctx) };
      await putJson(ctx, key(ctx, KEYS.template, [data.operationType, data.level, padVersion(template.version)]), template);
      await putJson(ctx, key(ctx, KEYS.templateLatest, [data.operationType, data.level]), { version: template.version });
      emit(ctx, 'TemplatePublished', template);
      return canonicalJson(template);
    });
  }

  @Evaluate()
  async Get(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'template:Get', input, async ({ data: q }) => {
      if (!isKnownLevel(q.operationType, q.level)) throw new ValidationError(`level ${q.level} does not exist for ${q.operationType}`);
      return canonicalJson(await loadTemplate(ctx, q.operationType, q.level, q.version));
    });
  }

  @Submit()
  async PublishPolicy(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'template:PublishPolicy', input, async ({ actor, data }) => {
      const ids = data.simopsRules.map((r) => r.ruleId);
      if (new Set(ids).size !== ids.length) throw new ValidationError('simopsRules ruleId values must be unique');
      const current = await loadPolicy(ctx);
      const policy: LedgerPolicy = { ...data, version: current.version + 1, publishedBy: actor, publishedAt: txTimeIso(ctx) };
      await putJson(ctx, key(ctx, KEYS.policy, [padVersion(policy.version)]), policy);
      await putJson(ctx, key(ctx, KEYS.policyLatest, []), { version: policy.version });
      emit(ctx, 'PolicyPublished', policy);
      return canonicalJson(policy);
    });
  }

  @Evaluate()
  async GetPolicy(ctx: Context, input: string): Promise<string> {
    return run(ctx, 'template:GetPolicy', input, async () => {
      return canonicalJson(await loadPolicy(ctx));
    });
  }
}
