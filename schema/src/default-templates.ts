import { type OperationType, WORK_UNIT_DEPARTMENT } from './domain';
import type { GasTestRule, SignOffStepTemplate, WorkflowTemplate } from './records';

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
  t('hot_work', 'special', 'Hot work, special level (特级动火)', 8 * HOUR, [safetyReview('safety', 2), approval('leadership')], hotWorkGas(30, true), [
    'welding_cutting',
  ]),
  t('hot_work', '1', 'Hot work, level 1 (一级动火)', 8 * HOUR, [safetyReview(WORK_UNIT_DEPARTMENT, 1), approval('safety')], hotWorkGas(30, false), [
    'welding_cutting',
  ]),
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

/** One line per sign-off step: who signs, of which department, where. */
export function signOffSummary(t: Pick<WorkflowTemplate, 'signOffSteps'>): string {
  return t.signOffSteps
    .map((s) => {
      const who = s.distinctSigners > 1 ? `${s.distinctSigners} distinct ${s.role}s` : s.role;
      const dept =
        s.department === WORK_UNIT_DEPARTMENT
          ? "of the work unit (ledger.department = the permit's workUnit)"
          : s.department === null
            ? 'of any department'
            : `of department ${s.department}`;
      return `${s.kind} by ${who} ${dept}${s.atSite ? ' at the work site' : ''}`;
    })
    .join(', then ');
}

/** The levels of an operation type and who signs each off under the built-in templates. */
export function levelSignOffDescription(operationType: OperationType, levels: readonly string[]): string {
  const lines = levels.map((level) => {
    const t = defaultTemplate(operationType, level);
    return `\`${level}\`: ${t === undefined ? 'no built-in template' : `${t.title}; ${signOffSummary(t)}`}`;
  });
  return `${lines.join('. ')}. These are the built-in templates (version 1); a published version (template:Get) may add steps or tighten them.`;
}
