import type { AreaSnapshot } from '../pipeline/area-state.js';
import { criterionRatio } from '../pipeline/gas-criterion.js';
import { BEHAVIOURS, PERMIT_TYPES } from '../pipeline/vocabulary.js';

/** The model's input columns, in order. model/train.py builds the same columns. */
export const FEATURE_NAMES: readonly string[] = [
  'gas_lel_pct',
  'gas_criterion_ratio',
  'o2_pct',
  'h2s_ppm',
  'co_ppm',
  'temperature_c',
  'wind_ms',
  ...BEHAVIOURS.map((b) => `det_${b}`),
  'hour_sin',
  'hour_cos',
  'night',
  ...PERMIT_TYPES.map((p) => `permit_${p}`),
];
export const FEATURE_COUNT = FEATURE_NAMES.length;

/** Local hour of day (fractional) at the site: night rules are about the site's clock, not UTC. */
export function localHour(epochMs: number, utcOffsetMinutes: number): number {
  const minutes = Math.floor(epochMs / 60_000) + utcOffsetMinutes;
  return (((minutes % 1440) + 1440) % 1440) / 60;
}

export function isNight(hour: number): boolean {
  return hour < 6 || hour >= 20;
}

export function toFeatures(snapshot: AreaSnapshot, utcOffsetMinutes: number, out = new Float32Array(FEATURE_COUNT)): Float32Array {
  const r = snapshot.reading;
  const hour = localHour(snapshot.observedAt, utcOffsetMinutes);
  let i = 0;
  out[i++] = r.flammableLelPct;
  out[i++] = criterionRatio(r.flammableLelPct, r.flammableGasLelVolPct);
  out[i++] = r.o2VolPct;
  out[i++] = r.h2sPpm;
  out[i++] = r.coPpm;
  out[i++] = r.temperatureC;
  out[i++] = r.windMs;
  for (const b of BEHAVIOURS) out[i++] = snapshot.detections[b] ?? 0;
  out[i++] = Math.sin((2 * Math.PI * hour) / 24);
  out[i++] = Math.cos((2 * Math.PI * hour) / 24);
  out[i++] = isNight(hour) ? 1 : 0;
  for (const p of PERMIT_TYPES) out[i++] = snapshot.permitTypes.includes(p) ? 1 : 0;
  return out;
}
