import { criterionRatio } from './gas-criterion.js';
import type { Detection, Reading, StandardMessage } from './message.js';
import type { Behaviour, PermitType } from './vocabulary.js';

/** The latest facts known about one work area, merged from all its devices. */
export interface AreaSnapshot {
  siteId: string;
  areaId: string;
  observedAt: number;
  /** Worst current value per quantity across the area's devices (see worstReading). */
  reading: Required<Omit<Reading, 'flammableGasLelVolPct'>> & { flammableGasLelVolPct: number };
  /** Highest confidence per behaviour among detections still fresh. */
  detections: Partial<Record<Behaviour, number>>;
  /** Clip of the most recent fresh detection that has one, for the alarm's evidence. */
  clipCid: string;
  permitTypes: PermitType[];
}

export interface AreaStateOptions {
  readingTtlMs: number;
  detectionTtlMs: number;
  /** Assumed when a flammable reading does not name its gas (methane's LEL). */
  defaultGasLelVolPct: number;
}

// Neutral values for quantities that no device in the area measures: they add no risk.
const NEUTRAL = { flammableLelPct: 0, o2VolPct: 20.9, h2sPpm: 0, coPpm: 0, temperatureC: 20, windMs: 0 };

interface Timed<T> {
  at: number;
  value: T;
}

class Area {
  readings = new Map<string, Timed<Reading>>();
  detections: Timed<Detection>[] = [];
  permitTypes: PermitType[] = [];
}

/**
 * Keeps per-area state in memory. It is rebuilt from the stream after a restart: readings and
 * detections are short-lived anyway, and edge gateways republish the permit set (retained).
 */
export class AreaStateStore {
  private readonly areas = new Map<string, Area>();

  constructor(private readonly options: AreaStateOptions) {}

  /**
   * Applies a message and returns the area's snapshot at the message's time. With `undo`, a
   * closure that restores the state from before is appended to it: a batch whose alarms could
   * not be stored is rolled back in reverse order, so its retry sees what the first try saw
   * (re-applied later readings would otherwise count as current for the earlier items).
   */
  apply(message: StandardMessage, undo?: (() => void)[]): AreaSnapshot {
    const key = `${message.siteId}/${message.areaId}`;
    let area = this.areas.get(key);
    if (!area) {
      area = new Area();
      this.areas.set(key, area);
      if (undo) undo.push(() => this.areas.delete(key));
    }
    const at = message.observedAt;
    if (undo) {
      const a = area;
      const { detections, permitTypes } = a;
      const reading = message.kind === 'env' ? a.readings.get(message.deviceId) : undefined;
      undo.push(() => {
        a.detections = detections;
        a.permitTypes = permitTypes;
        if (message.kind !== 'env') return;
        if (reading) a.readings.set(message.deviceId, reading);
        else a.readings.delete(message.deviceId);
      });
    }
    // A fresh array (filter before push), so that an undo restores the previous one as it was.
    area.detections = area.detections.filter((d) => at - d.at <= this.options.detectionTtlMs);
    if (message.kind === 'env') {
      area.readings.set(message.deviceId, { at, value: message.reading });
    } else if (message.kind === 'ai') {
      area.detections.push({ at, value: message.detection });
    } else {
      area.permitTypes = [...new Set(message.permits.active.map((p) => p.type))];
    }
    return this.snapshot(message.siteId, message.areaId, area, at);
  }

  private snapshot(siteId: string, areaId: string, area: Area, at: number): AreaSnapshot {
    const fresh: Reading[] = [];
    for (const r of area.readings.values()) if (Math.abs(at - r.at) <= this.options.readingTtlMs) fresh.push(r.value);
    const detections: Partial<Record<Behaviour, number>> = {};
    let clipCid = '';
    let clipAt = -Infinity;
    for (const d of area.detections) {
      if (d.at > at) continue;
      detections[d.value.behaviour] = Math.max(detections[d.value.behaviour] ?? 0, d.value.confidence);
      if (d.value.clipCid && d.at >= clipAt) {
        clipCid = d.value.clipCid;
        clipAt = d.at;
      }
    }
    return {
      siteId,
      areaId,
      observedAt: at,
      reading: worstReading(fresh, this.options.defaultGasLelVolPct),
      detections,
      clipCid,
      permitTypes: area.permitTypes.slice(),
    };
  }
}

/** Per quantity the most dangerous value: highest gas and wind, O₂ and temperature furthest from normal. */
export function worstReading(readings: readonly Reading[], defaultGasLelVolPct: number): AreaSnapshot['reading'] {
  // Spelled out rather than spread from NEUTRAL: this runs per reading (see IngestPipeline.apply).
  const out = {
    flammableLelPct: NEUTRAL.flammableLelPct,
    flammableGasLelVolPct: defaultGasLelVolPct,
    o2VolPct: NEUTRAL.o2VolPct,
    h2sPpm: NEUTRAL.h2sPpm,
    coPpm: NEUTRAL.coPpm,
    temperatureC: NEUTRAL.temperatureC,
    windMs: NEUTRAL.windMs,
  };
  let worstGasRatio = -1;
  for (const r of readings) {
    if (r.flammableLelPct !== undefined) {
      const lelVol = r.flammableGasLelVolPct ?? defaultGasLelVolPct;
      // Compare by volume against each gas's own criterion, not by raw % LEL.
      const ratio = criterionRatio(r.flammableLelPct, lelVol);
      if (ratio > worstGasRatio) {
        worstGasRatio = ratio;
        out.flammableLelPct = r.flammableLelPct;
        out.flammableGasLelVolPct = lelVol;
      }
    }
    if (r.o2VolPct !== undefined && Math.abs(r.o2VolPct - 20.9) > Math.abs(out.o2VolPct - 20.9)) out.o2VolPct = r.o2VolPct;
    if (r.h2sPpm !== undefined) out.h2sPpm = Math.max(out.h2sPpm, r.h2sPpm);
    if (r.coPpm !== undefined) out.coPpm = Math.max(out.coPpm, r.coPpm);
    if (r.windMs !== undefined) out.windMs = Math.max(out.windMs, r.windMs);
    if (r.temperatureC !== undefined && Math.abs(r.temperatureC - 20) > Math.abs(out.temperatureC - 20)) {
      out.temperatureC = r.temperatureC;
    }
  }
  return out;
}
