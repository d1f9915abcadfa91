import { type LedgerPolicy, OPERATION_LEVELS, type OperationType, type SimopsRule, type WorkflowTemplate } from '@compliance-ledger/schema';

// The built-in templates live in the shared schema, so that the gateway's API document names the
// same sign-off departments per level that the chaincode enforces.
export { DEFAULT_TEMPLATES, defaultTemplate } from '@compliance-ledger/schema';

export function isKnownLevel(operationType: OperationType, level: string): boolean {
  return OPERATION_LEVELS[operationType].includes(level);
}

function near(ruleId: string, activity: SimopsRule['b']['activity'], withinMetres: number): SimopsRule {
  return { ruleId, a: { operationType: 'hot_work' }, b: { activity }, withinMetres, sameDike: false, samePipeline: false, fireExplosionZoneOnly: false };
}
function sameDike(ruleId: string, activity: SimopsRule['b']['activity']): SimopsRule {
  return { ruleId, a: { operationType: 'hot_work' }, b: { activity }, withinMetres: null, sameDike: true, samePipeline: false, fireExplosionZoneOnly: false };
}

/** DOMAIN.md's SIMOPS list. */
export const DEFAULT_SIMOPS_RULES: SimopsRule[] = [
  near('hot-vs-flammable-gas-30m', 'flammable_gas_release', 30),
  near('hot-vs-flammable-liquid-15m', 'flammable_liquid_release', 15),
  near('hot-vs-solvent-cleaning-10m', 'solvent_cleaning', 10),
  near('hot-vs-painting-10m', 'painting', 10),
  near('hot-vs-dust-sweeping-10m', 'dust_sweeping', 10),
  sameDike('hot-vs-tank-draining-same-dike', 'tank_draining'),
  sameDike('hot-vs-sampling-same-dike', 'sampling'),
  {
    ruleId: 'hot-vs-blind-plate-30m-fire-zone',
    a: { operationType: 'hot_work' },
    b: { operationType: 'blind_plate' },
    withinMetres: 30,
    sameDike: false,
    samePipeline: false,
    fireExplosionZoneOnly: true,
  },
  {
    ruleId: 'blind-plate-same-pipeline',
    a: { operationType: 'blind_plate' },
    b: { operationType: 'blind_plate' },
    withinMetres: null,
    sameDike: false,
    samePipeline: true,
    fireExplosionZoneOnly: false,
  },
];

/** Built-in policy version 1. Grade and windows are configurable, not from the standard. */
export const DEFAULT_POLICY: LedgerPolicy = {
  version: 1,
  alarmSuspendMaxGrade: 2,
  gateCheckWindowMinutes: 60,
  faceMatchMinScoreBp: 8000,
  personalDataAccessWindowMinutes: 15,
  simopsRules: DEFAULT_SIMOPS_RULES,
  // No site calendar is assumed: the regulator or enterprise publishes the site's own.
  workCalendar: null,
  publishedBy: null,
  publishedAt: null,
};

/** Operation types whose maximum validity is set by GB 30871 (the others are enterprise policy). */
const STANDARD_VALIDITY: readonly OperationType[] = ['hot_work', 'confined_space', 'work_at_height', 'temporary_electricity'];

/**
 * How a candidate template is looser than the built-in one that encodes GB 30871. The enterprise
 * may add steps and tighten limits on its own; loosening the national standard is the
 * regulator's call, so such a template from the enterprise is refused.
 */
export function loosenings(candidate: Omit<WorkflowTemplate, 'version' | 'publishedBy' | 'publishedAt'>, baseline: WorkflowTemplate): string[] {
  const out: string[] = [];
  if (STANDARD_VALIDITY.includes(baseline.operationType) && candidate.maxValidityMinutes > baseline.maxValidityMinutes) {
    out.push(`maxValidityMinutes ${candidate.maxValidityMinutes} > ${baseline.maxValidityMinutes}`);
  }
  const g = candidate.gasTest;
  const b = baseline.gasTest;
  if (b.required) {
    if (!g.required) out.push('gasTest.required is false');
    if (g.maxAgeMinutes > b.maxAgeMinutes) out.push(`gasTest.maxAgeMinutes ${g.maxAgeMinutes} > ${b.maxAgeMinutes}`);
    if (g.retestAfterInterruptionMinutes > b.retestAfterInterruptionMinutes) {
      out.push(`gasTest.retestAfterInterruptionMinutes ${g.retestAfterInterruptionMinutes} > ${b.retestAfterInterruptionMinutes}`);
    }
    if (g.retestEveryMinutes > b.retestEveryMinutes) out.push(`gasTest.retestEveryMinutes ${g.retestEveryMinutes} > ${b.retestEveryMinutes}`);
    for (const cls of ['lel_ge_4', 'lel_lt_4'] as const) {
      if (g.flammableMaxVolPct[cls] > b.flammableMaxVolPct[cls])
        out.push(`gasTest.flammableMaxVolPct.${cls} ${g.flammableMaxVolPct[cls]} > ${b.flammableMaxVolPct[cls]}`);
    }
  }
  if (b.oxygen !== null) {
    const o = g.oxygen;
    if (o === null || o.minVolPct < b.oxygen.minVolPct || o.maxVolPct > b.oxygen.maxVolPct || o.absoluteMaxVolPct > b.oxygen.absoluteMaxVolPct) {
      out.push(`gasTest.oxygen wider than ${b.oxygen.minVolPct}–${b.oxygen.maxVolPct} % (max ${b.oxygen.absoluteMaxVolPct} %)`);
    }
  }
  for (const step of baseline.signOffSteps) {
    const kept = candidate.signOffSteps.find((s) => s.stepId === step.stepId);
    if (
      kept === undefined ||
      kept.role !== step.role ||
      kept.department !== step.department ||
      kept.distinctSigners < step.distinctSigners ||
      (step.atSite && !kept.atSite)
    ) {
      out.push(`sign-off step ${step.stepId} (${step.role}${step.department === null ? '' : ` of ${step.department}`}) removed or weakened`);
    }
  }
  for (const cat of baseline.requiredCertificateCategories) {
    if (!candidate.requiredCertificateCategories.includes(cat)) out.push(`certificate category ${cat} no longer required`);
  }
  for (const cat of guardianCategories(baseline)) {
    if (!guardianCategories(candidate).includes(cat)) out.push(`guardian certificate category ${cat} no longer required`);
  }
  if (baseline.gateCheckRequired && !candidate.gateCheckRequired) out.push('gate checks no longer required');
  return out;
}

/** Templates stored before guardian certificates were modelled have no such field: none required. */
export function guardianCategories(t: Pick<WorkflowTemplate, 'guardianCertificateCategories'>): string[] {
  return (t as Partial<Pick<WorkflowTemplate, 'guardianCertificateCategories'>>).guardianCertificateCategories ?? [];
}
