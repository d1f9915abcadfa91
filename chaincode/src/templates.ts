import {
  OPERATION_LEVELS,
  WORK_UNIT_DEPARTMENT,
  type GasTestRule,
  type LedgerPolicy,
  type OperationType,
  type SignOffStepTemplate,
  type SimopsRule,
  type WorkflowTemplate,
} from '@compliance-ledger/schema';

/**
 * Built-in version 1 of every template, following GB 30871-2022 as summarised in DOMAIN.md.
 * Published versions (2, 3, …) replace them as ledger data without a code change. Values
 * marked "enterprise policy" are not set by the standard and are expected to be republished.
 */

const HOUR = 60;
const DAY = 24 * HOUR;

const NO_GAS_TEST: GasTestRule = {
  required: false,
  maxAgeMinutes: 30,
  retestAfterInterruptionMinutes: 60,
  retestEveryMinutes: DAY,
  flammableMaxVolPct: { lel_ge_4: 0.5, lel_lt_4: 0.2 },
  oxygen: null,
  continuousMonitoringIntervalMinutes: null,
};

function hotWorkGas(retestAfterInterruptionMinutes: number, continuous: boolean): GasTestRule {
  return {
    required: true,
    maxAgeMinutes: 30,
    retestAfterInterruptionMinutes,
    retestEveryMinutes: DAY,
    flammableMaxVolPct: { lel_ge_4: 0.5, lel_lt_4: 0.2 },
    oxygen: null,
    continuousMonitoringIntervalMinutes: continuous ? 2 * HOUR : null,
  };
}

const CONFINED_SPACE_GAS: GasTestRule = {
  required: true,
  maxAgeMinutes: 30,
  retestAfterInterruptionMinutes: 60,
  retestEveryMinutes: DAY,
  flammableMaxVolPct: { lel_ge_4: 0.5, lel_lt_4: 0.2 },
  oxygen: { minVolPct: 19.5, maxVolPct: 21, absoluteMaxVolPct: 23.5 },
  continuousMonitoringIntervalMinutes: 2 * HOUR,
};

function approval(department: string): SignOffStepTemplate {
  return { stepId: 'approval', name: 'Approval at the work site', kind: 'approval', role: 'approver', department, distinctSigners: 1, atSite: true };
}
function cosign(department: string): SignOffStepTemplate {
  return { stepId: `cosign-${department}`, name: `Co-sign by ${department}`, kind: 'cosign', role: 'approver', department, distinctSigners: 1, atSite: false };
}
function safetyReview(department: string, distinctSigners: number): SignOffStepTemplate {
  return { stepId: 'safety-review', name: 'Safety review', kind: 'review', role: 'safety_officer', department, distinctSigners, atSite: false };
}

function t(
  operationType: OperationType,
  level: string,
  title: string,
  maxValidityMinutes: number,
  signOffSteps: SignOffStepTemplate[],
  gasTest: GasTestRule,
  requiredCertificateCategories: string[],
): WorkflowTemplate {
  return {
    operationType,
    level,
    version: 1,
    title,
    maxValidityMinutes,
    signOffSteps,
    gasTest,
    requiredCertificateCategories,
    guardianCertificateCategories: ['guardian'],
    gateCheckRequired: true,
    publishedBy: null,
    publishedAt: null,
  };
}

export const DEFAULT_TEMPLATES: WorkflowTemplate[] = [
  // 特级: leader in charge approves; dual safety review.
  t('hot_work', 'special', 'Hot work, special level (特级动火)', 8 * HOUR, [safetyReview('safety', 2), approval('leadership')], hotWorkGas(30, true), ['welding_cutting']),
  t('hot_work', '1', 'Hot work, level 1 (一级动火)', 8 * HOUR, [safetyReview(WORK_UNIT_DEPARTMENT, 1), approval('safety')], hotWorkGas(30, false), ['welding_cutting']),
  t('hot_work', '2', 'Hot work, level 2 (二级动火)', 72 * HOUR, [approval(WORK_UNIT_DEPARTMENT)], hotWorkGas(60, false), ['welding_cutting']),
  t('confined_space', 'single', 'Confined space entry (受限空间)', 24 * HOUR, [approval(WORK_UNIT_DEPARTMENT)], CONFINED_SPACE_GAS, []),
  // Enterprise policy: the standard sets no maximum for blind plate, excavation, road breaking, lifting.
  t('blind_plate', 'single', 'Blind plate (盲板抽堵)', 24 * HOUR, [approval(WORK_UNIT_DEPARTMENT)], NO_GAS_TEST, []),
  t('work_at_height', 'I', 'Work at height I, 2–5 m (一级高处)', 7 * DAY, [approval(WORK_UNIT_DEPARTMENT)], NO_GAS_TEST, ['work_at_height']),
  t('work_at_height', 'II', 'Work at height II, 5–15 m (二级高处)', 7 * DAY, [approval('specialist')], NO_GAS_TEST, ['work_at_height']),
  t('work_at_height', 'III', 'Work at height III, 15–30 m (三级高处)', 7 * DAY, [approval('specialist')], NO_GAS_TEST, ['work_at_height']),
  t('work_at_height', 'IV', 'Work at height IV, > 30 m (四级高处)', 7 * DAY, [approval('plant_head')], NO_GAS_TEST, ['work_at_height']),
  t('lifting', '1', 'Lifting level 1, > 100 t (一级吊装)', 24 * HOUR, [approval('plant_head')], NO_GAS_TEST, ['lifting_equipment']),
  t('lifting', '2', 'Lifting level 2, 40–100 t (二级吊装)', 24 * HOUR, [approval('specialist')], NO_GAS_TEST, ['lifting_equipment']),
  t('lifting', '3', 'Lifting level 3, < 40 t (三级吊装)', 24 * HOUR, [approval('specialist')], NO_GAS_TEST, ['lifting_equipment']),
  // 15 days; never beyond the permit it serves (enforced at issue).
  t('temporary_electricity', 'single', 'Temporary electricity (临时用电)', 15 * DAY, [approval('power_supply')], NO_GAS_TEST, ['electrician']),
  t(
    'excavation',
    'single',
    'Excavation > 0.5 m (动土)',
    24 * HOUR,
    [...['water', 'power', 'steam', 'process', 'equipment', 'fire', 'safety'].map(cosign), approval('specialist')],
    NO_GAS_TEST,
    [],
  ),
  t('road_breaking', 'single', 'Road breaking (断路)', 24 * HOUR, [cosign('fire'), cosign('safety'), approval('specialist')], NO_GAS_TEST, []),
];

export function defaultTemplate(operationType: OperationType, level: string): WorkflowTemplate | undefined {
  return DEFAULT_TEMPLATES.find((x) => x.operationType === operationType && x.level === level);
}

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
      if (g.flammableMaxVolPct[cls] > b.flammableMaxVolPct[cls]) out.push(`gasTest.flammableMaxVolPct.${cls} ${g.flammableMaxVolPct[cls]} > ${b.flammableMaxVolPct[cls]}`);
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
    if (kept === undefined || kept.role !== step.role || kept.department !== step.department || kept.distinctSigners < step.distinctSigners || (step.atSite && !kept.atSite)) {
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
