import type { PermitRecord, SimopsRule, SimopsSelector } from '@compliance-ledger/schema';

export type SimopsPermit = Pick<PermitRecord, 'permitNo' | 'operationType' | 'activities' | 'location'>;

function matches(p: SimopsPermit, s: SimopsSelector): boolean {
  if (s.operationType !== undefined) return p.operationType === s.operationType;
  if (s.activity !== undefined) return p.activities.includes(s.activity);
  return false;
}

export function distanceMetres(a: SimopsPermit, b: SimopsPermit): number | null {
  const ca = a.location.coordinates;
  const cb = b.location.coordinates;
  if (ca === null || cb === null) return null;
  return Math.hypot(ca.x - cb.x, ca.y - cb.y);
}

/** Whether one rule makes the two permits conflict. Distances are inclusive: 30 m is within 30 m. */
export function ruleConflicts(rule: SimopsRule, x: SimopsPermit, y: SimopsPermit): boolean {
  const paired = (matches(x, rule.a) && matches(y, rule.b)) || (matches(x, rule.b) && matches(y, rule.a));
  if (!paired) return false;
  if (x.location.siteId !== y.location.siteId) return false;
  if (rule.fireExplosionZoneOnly && !x.location.fireExplosionZone && !y.location.fireExplosionZone) return false;
  if (rule.sameDike) return x.location.dikeId !== null && x.location.dikeId === y.location.dikeId;
  if (rule.samePipeline) return x.location.pipelineId !== null && x.location.pipelineId === y.location.pipelineId;
  if (x.location.zoneId === y.location.zoneId) return true;
  if (rule.withinMetres === null) return false;
  const d = distanceMetres(x, y);
  return d !== null && d <= rule.withinMetres;
}

/** The live permits that conflict with the candidate, with the rules that make them conflict. */
export function findSimopsConflicts(
  candidate: SimopsPermit,
  live: SimopsPermit[],
  rules: SimopsRule[],
): { permitNo: string; ruleIds: string[] }[] {
  const out: { permitNo: string; ruleIds: string[] }[] = [];
  for (const other of live) {
    if (other.permitNo === candidate.permitNo) continue;
    const ruleIds = rules.filter((r) => ruleConflicts(r, candidate, other)).map((r) => r.ruleId);
    if (ruleIds.length > 0) out.push({ permitNo: other.permitNo, ruleIds });
  }
  return out;
}
