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
export function findSimopsConflicts(candidate: SimopsPermit, live: SimopsPermit[], rules: SimopsRule[]): { permitNo: string; ruleIds: string[] }[] {
  const out: { permitNo: string; ruleIds: string[] }[] = [];
  for (const other of live) {
    if (other.permitNo === candidate.permitNo) continue;
    const ruleIds = rules.filter((r) => ruleConflicts(r, candidate, other)).map((r) => r.ruleId);
    if (ruleIds.length > 0) out.push({ permitNo: other.permitNo, ruleIds });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The SIMOPS index: where a live permit is filed, and which parts of it an Issue must read.
//
// Fabric re-checks every range an endorsement read when it commits the transaction, and
// invalidates it if another transaction committed first changed that range. So the ranges an
// Issue reads decide which Issues exclude each other. Filing each live permit under each of its
// selectors (its operation type, each declared activity) and reading only the selectors a policy
// rule pairs the candidate with means that two permits no rule can pair never read each other's
// entries, while two a rule can pair always do (one reads the range the other writes), and the
// later of two concurrent conflicting Issues is invalidated.
// ---------------------------------------------------------------------------------------------

/** A rule's side as an index partition name: `op:<operationType>` or `act:<activity>`. */
export function selectorKey(s: SimopsSelector): string | null {
  if (s.operationType !== undefined) return `op:${s.operationType}`;
  if (s.activity !== undefined) return `act:${s.activity}`;
  return null;
}

/** Every selector partition a permit belongs to: what `matches` would accept it under. */
export function selectorKeysOf(p: SimopsPermit): string[] {
  return [...new Set([`op:${p.operationType}`, ...p.activities.map((a) => `act:${a}`)])].sort();
}

/** How a rule localises a conflict: by zone (and distance), by dike, or by pipeline. */
export type SimopsScopeKind = 'zone' | 'dike' | 'pipeline';

/** One index entry of a live permit: selector, scope kind and the scope (zone, dike or pipeline id). */
export interface SimopsSlot {
  selector: string;
  kind: SimopsScopeKind;
  scope: string;
}

/** A range an Issue reads: one scope, or (scope null) every scope of that kind on the site. */
export interface SimopsScan {
  selector: string;
  kind: SimopsScopeKind;
  scope: string | null;
}

/** Where a live permit is filed: under each selector, by zone, and by dike and pipeline when declared. */
export function simopsSlots(p: SimopsPermit): SimopsSlot[] {
  const out: SimopsSlot[] = [];
  for (const selector of selectorKeysOf(p)) {
    out.push({ selector, kind: 'zone', scope: p.location.zoneId });
    if (p.location.dikeId !== null) out.push({ selector, kind: 'dike', scope: p.location.dikeId });
    if (p.location.pipelineId !== null) out.push({ selector, kind: 'pipeline', scope: p.location.pipelineId });
  }
  return out;
}

/**
 * The ranges that hold every live permit `ruleConflicts` could find in conflict with the
 * candidate, mirroring its branches: for each rule side the candidate matches, the other side's
 * selector; a dike or pipeline rule only that dike or pipeline (nothing when the candidate
 * declares none); a distance rule the whole site when the candidate has coordinates (a permit in
 * another zone may be near), otherwise the candidate's zone.
 */
export function simopsScans(candidate: SimopsPermit, rules: SimopsRule[]): SimopsScan[] {
  const found = new Map<string, SimopsScan>();
  const add = (s: SimopsScan) => found.set(`${s.selector} ${s.kind} ${s.scope ?? ''}`, s);
  const loc = candidate.location;
  for (const rule of rules) {
    for (const [mine, other] of [
      [rule.a, rule.b],
      [rule.b, rule.a],
    ] as const) {
      const selector = selectorKey(other);
      if (selector === null || !matches(candidate, mine)) continue;
      if (rule.sameDike) {
        if (loc.dikeId !== null) add({ selector, kind: 'dike', scope: loc.dikeId });
      } else if (rule.samePipeline) {
        if (loc.pipelineId !== null) add({ selector, kind: 'pipeline', scope: loc.pipelineId });
      } else if (rule.withinMetres !== null && loc.coordinates !== null) {
        add({ selector, kind: 'zone', scope: null });
      } else {
        add({ selector, kind: 'zone', scope: loc.zoneId });
      }
    }
  }
  // A whole-site range already holds that selector's zone entries.
  const scans = [...found.values()].filter((s) => !(s.kind === 'zone' && s.scope !== null && found.has(`${s.selector} zone `)));
  return scans.sort((a, b) => (`${a.selector} ${a.kind} ${a.scope ?? ''}` < `${b.selector} ${b.kind} ${b.scope ?? ''}` ? -1 : 1));
}
