import type { PermitRecord, WorkflowTemplate } from '@compliance-ledger/schema';
import { MINUTE_MS, parseIso } from './clock';
import { ExpiredError, RuleViolationError, ValidationError } from './errors';
import { EXPIRABLE_STATUSES } from './permit-state';

/**
 * GB 30871 raises the level in some conditions, so the permit is governed by the template of the
 * raised level: hot work on holidays, rest days and at night; work at height under hazard
 * factors (wind ≥ 8 m/s, ≤ 5 °C, O₂ < 19.5 % …). The top level stays the top level.
 */
export function effectiveLevel(operationType: string, level: string, nightOrHoliday: boolean, heightHazardFactors = false): string {
  const raise = (order: string[]) => order[Math.min(order.indexOf(level) + 1, order.length - 1)] ?? level;
  if (operationType === 'hot_work' && nightOrHoliday) return raise(['2', '1', 'special']);
  if (operationType === 'work_at_height' && heightHazardFactors) return raise(['I', 'II', 'III', 'IV']);
  return level;
}

/**
 * The longest validity the permit may have: the template's maximum, or its special-case maximum
 * when the application recorded a reason for it (temporary electricity: 30 days instead of 15).
 */
export function maxValidityMinutesFor(
  template: Pick<WorkflowTemplate, 'maxValidityMinutes' | 'specialCaseMaxValidityMinutes' | 'operationType' | 'level'>,
  specialCaseReason: string | null | undefined,
): number {
  if (specialCaseReason === null || specialCaseReason === undefined) return template.maxValidityMinutes;
  const special = template.specialCaseMaxValidityMinutes ?? null;
  if (special === null) {
    throw new RuleViolationError(
      `${template.operationType.replace(/_/g, ' ')} level ${template.level} has no special case with a longer validity; send specialCaseReason null`,
    );
  }
  return Math.max(special, template.maxValidityMinutes);
}

/** The planned window must be non-empty and no longer than the template's maximum validity. */
export function checkPlannedWindow(
  plannedStartIso: string,
  plannedEndIso: string,
  maxValidityMinutes: number,
  nowMs: number,
  levelWhy: string | null = null,
  specialCaseHint = '',
): void {
  const start = parseIso(plannedStartIso);
  const end = parseIso(plannedEndIso);
  if (end <= start) throw new ValidationError('plannedEnd must be after plannedStart');
  if (end - start > maxValidityMinutes * MINUTE_MS) {
    throw new RuleViolationError(
      `the planned window is ${formatMinutes((end - start) / MINUTE_MS)} but this operation and level allow at most ` +
        `${formatMinutes(maxValidityMinutes)}${levelWhy === null ? '' : ` (the level was raised: ${levelWhy})`}; ` +
        `shorten the window, apply for several permits${specialCaseHint}`,
    );
  }
  if (end <= nowMs) throw new ExpiredError('the planned window has already ended; apply with a window in the future');
}

/**
 * The validity clock starts at issue. It ends at the earliest of: the planned end, issue time
 * plus the maximum validity, and (temporary electricity) the end of the permit it serves.
 */
export function computeValidity(
  issuedAtMs: number,
  plannedEndIso: string,
  maxValidityMinutes: number,
  servedPermitEndIso: string | null,
): { validFrom: number; validUntil: number } {
  let until = Math.min(parseIso(plannedEndIso), issuedAtMs + maxValidityMinutes * MINUTE_MS);
  if (servedPermitEndIso !== null) until = Math.min(until, parseIso(servedPermitEndIso));
  return { validFrom: issuedAtMs, validUntil: until };
}

/** When the permit's clock ends: validity once issued, the planned end before. */
export function permitEndMs(permit: Pick<PermitRecord, 'validUntil' | 'plannedEnd'>): number {
  return parseIso(permit.validUntil ?? permit.plannedEnd);
}

/** A permit whose clock has run out reads as expired even before anyone records it. */
export function isExpiredAt(permit: Pick<PermitRecord, 'status' | 'validUntil' | 'plannedEnd'>, nowMs: number): boolean {
  if (permit.status === 'expired') return true;
  return EXPIRABLE_STATUSES.includes(permit.status) && nowMs >= permitEndMs(permit);
}

export function assertNotExpired(permit: PermitRecord, nowMs: number): void {
  if (isExpiredAt(permit, nowMs)) {
    throw new ExpiredError(
      `permit ${permit.permitNo} expired at ${new Date(permitEndMs(permit)).toISOString()}; nothing more can happen on it, the work needs a new permit`,
    );
  }
}

function formatMinutes(min: number): string {
  if (min % (24 * 60) === 0) return `${min / (24 * 60)} d`;
  if (min % 60 === 0) return `${min / 60} h`;
  return `${Math.round(min * 1000) / 1000} min`;
}
