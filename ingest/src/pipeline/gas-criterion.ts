/**
 * The permit's flammable-gas criterion (GB 30871): the gas passes when its concentration by
 * volume is at most 0.5 % if the gas's LEL is ≥ 4 %, else at most 0.2 %. Detectors report % LEL,
 * so the concentration by volume is LEL% × LEL(vol%) / 100. Fixed detector set-points (25 % and
 * 50 % LEL) are far looser: a reading below the detector's alarm can still fail the criterion.
 */
export function flammableVolPct(lelPct: number, gasLelVolPct: number): number {
  return (lelPct * gasLelVolPct) / 100;
}

export function permitCriterionVolPct(gasLelVolPct: number): number {
  return gasLelVolPct >= 4 ? 0.5 : 0.2;
}

/** Concentration divided by the criterion: above 1 fails the gas test. */
export function criterionRatio(lelPct: number, gasLelVolPct: number): number {
  return flammableVolPct(lelPct, gasLelVolPct) / permitCriterionVolPct(gasLelVolPct);
}
