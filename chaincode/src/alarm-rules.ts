/**
 * Grade I (1) is the most severe. An alarm suspends permits when its grade is the configured
 * one or more severe, i.e. numerically less than or equal.
 */
export function alarmSuspendsPermits(grade: number, suspendMaxGrade: number): boolean {
  return grade <= suspendMaxGrade;
}

/** Response time for the regulator's KPI: from the ledger recording the alarm to its acknowledgement. */
export function responseMs(recordedAtIso: string, acknowledgedAtMs: number): number {
  return Math.max(0, acknowledgedAtMs - Date.parse(recordedAtIso));
}
