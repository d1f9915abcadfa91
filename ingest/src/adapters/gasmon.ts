import type { TopicAddress } from '../mqtt/topics.js';
import { type AdapterResult, isRecord, type VendorAdapter } from './vendor-adapter.js';

/**
 * "gasmon" multi-gas detectors publish one frame of channels:
 *
 *   { "sn": "GM-0042", "seq": 1834, "ts": "2026-11-30T09:00:00.000Z",
 *     "channels": [ { "ch": "EX", "value": 12, "unit": "%LEL", "gas": "CH4" },
 *                   { "ch": "O2", "value": 20.9, "unit": "%VOL" },
 *                   { "ch": "CO", "value": 3, "unit": "mg/m3" }, ... ] }
 *
 * Units vary with the detector's configuration, so every channel is converted.
 */

// LEL of the calibration gas in % by volume; the permit criterion depends on it.
export const GASMON_GAS_LEL_VOL_PCT: Readonly<Record<string, number>> = { CH4: 5.0, H2: 4.0, C3H8: 2.1, C4H10: 1.8, C2H4: 2.7, C2H6: 3.0 };
// mg/m³ → ppm at 25 °C and 1 atm: ppm = mg/m³ × 24.45 / molar mass.
const MOLAR_MASS: Record<string, number> = { CO: 28.01, H2S: 34.08 };

function toPpm(ch: string, value: number, unit: string): number | string {
  if (unit === 'ppm') return value;
  if (unit === 'mg/m3') return (value * 24.45) / (MOLAR_MASS[ch] ?? NaN);
  return `unit ${unit} not supported for ${ch}`;
}

export const gasmonAdapter: VendorAdapter = {
  vendor: 'gasmon',
  adapt(payload: unknown, address: TopicAddress): AdapterResult {
    if (!isRecord(payload)) return { ok: false, reason: 'gasmon: payload is not an object' };
    const { sn, seq, ts, channels } = payload;
    if (typeof sn !== 'string' || typeof seq !== 'number' || typeof ts !== 'string' || !Array.isArray(channels)) {
      return { ok: false, reason: 'gasmon: sn, seq, ts and channels are required' };
    }
    const observedAt = Date.parse(ts);
    if (Number.isNaN(observedAt)) return { ok: false, reason: `gasmon: ts is not a date: ${ts}` };
    const reading: Record<string, number> = {};
    for (const c of channels) {
      if (!isRecord(c) || typeof c.ch !== 'string' || typeof c.value !== 'number' || typeof c.unit !== 'string') {
        return { ok: false, reason: 'gasmon: each channel needs ch, value and unit' };
      }
      const { ch, value, unit } = c;
      switch (ch) {
        case 'EX': {
          if (unit !== '%LEL') return { ok: false, reason: `gasmon: EX unit ${unit}, expected %LEL` };
          const gas = typeof c.gas === 'string' ? c.gas : 'CH4';
          const lel = GASMON_GAS_LEL_VOL_PCT[gas];
          if (lel === undefined) return { ok: false, reason: `gasmon: unknown calibration gas ${gas}` };
          reading.flammableLelPct = value;
          reading.flammableGasLelVolPct = lel;
          break;
        }
        case 'O2':
          if (unit !== '%VOL') return { ok: false, reason: `gasmon: O2 unit ${unit}, expected %VOL` };
          reading.o2VolPct = value;
          break;
        case 'CO':
        case 'H2S': {
          const ppm = toPpm(ch, value, unit);
          if (typeof ppm === 'string') return { ok: false, reason: `gasmon: ${ppm}` };
          reading[ch === 'CO' ? 'coPpm' : 'h2sPpm'] = Math.round(ppm * 100) / 100;
          break;
        }
        case 'TEMP':
          if (unit === 'C') reading.temperatureC = value;
          else if (unit === 'F') reading.temperatureC = Math.round((((value - 32) * 5) / 9) * 100) / 100;
          else return { ok: false, reason: `gasmon: TEMP unit ${unit}` };
          break;
        case 'WS':
          if (unit === 'm/s') reading.windMs = value;
          else if (unit === 'km/h') reading.windMs = Math.round((value / 3.6) * 100) / 100;
          else return { ok: false, reason: `gasmon: WS unit ${unit}` };
          break;
        default:
          return { ok: false, reason: `gasmon: unknown channel ${ch}` };
      }
    }
    return {
      ok: true,
      message: {
        v: 1,
        kind: 'env',
        messageId: `${sn}-${seq}`,
        siteId: address.siteId,
        areaId: address.areaId,
        deviceId: address.deviceId,
        observedAt,
        reading,
      },
    };
  },
};
