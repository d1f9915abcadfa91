import { type PermitRecord, windStopsOperation } from '@compliance-ledger/schema';

/**
 * Grade I (1) is the most severe. An alarm suspends permits when its grade is the configured
 * one or more severe, i.e. numerically less than or equal.
 */
export function alarmSuspendsPermits(grade: number, suspendMaxGrade: number): boolean {
  return grade <= suspendMaxGrade;
}

/**
 * Why an alarm stops a permit's work, or null. A severe alarm stops everything in its area; a
 * wind alarm stops the outdoor operations GB 30871 halts at that force, whatever its grade.
 */
export function alarmStopReason(
  alarm: { grade: number; kind: string },
  permit: Pick<PermitRecord, 'operationType' | 'location'>,
  suspendMaxGrade: number,
): 'alarm' | 'weather' | null {
  if (alarmSuspendsPermits(alarm.grade, suspendMaxGrade)) return 'alarm';
  if (permit.location.outdoor === true && windStopsOperation(alarm.kind, permit.operationType)) return 'weather';
  return null;
}

/** Response time for the regulator's KPI: from the ledger recording the alarm to its acknowledgement. */
export function responseMs(recordedAtIso: string, acknowledgedAtMs: number): number {
  return Math.max(0, acknowledgedAtMs - Date.parse(recordedAtIso));
}
