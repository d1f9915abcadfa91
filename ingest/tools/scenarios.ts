import { createHash } from 'node:crypto';
import { localHour } from '../src/model/features.js';
import type { StandardMessage } from '../src/pipeline/message.js';
import type { Behaviour } from '../src/pipeline/vocabulary.js';
import type { SimArea, SiteLayout } from './site-layout.js';

/**
 * Streams of standard messages for a site, tick by tick. Each incident starts after a normal
 * first third, so a stream always shows the transition an operator would see. Everything is
 * driven by a seeded generator: the same options give the same messages.
 */
export const SCENARIOS = ['normal', 'gas-leak', 'oxygen-deficiency', 'guardian-absent', 'night-hot-work', 'high-wind'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ScenarioOptions {
  scenario: Scenario;
  startMs: number;
  ticks: number;
  tickMs: number;
  seed: number;
  /** Site clock offset from UTC, for the daily temperature curve. */
  utcOffsetMinutes?: number;
}

export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** A well-formed CIDv1 (raw codec, sha2-256, base32) of some bytes, as kubo would print it. */
export function rawCid(content: string): string {
  const bytes = Buffer.concat([Buffer.from([0x01, 0x55, 0x12, 0x20]), createHash('sha256').update(content).digest()]);
  let bits = 0;
  let value = 0;
  let out = 'b';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The area an incident happens in, by scenario. */
export function incidentArea(layout: SiteLayout, scenario: Scenario): SimArea | undefined {
  const byType = (t: SimArea['permitType']) => layout.areas.find((a) => a.permitType === t);
  switch (scenario) {
    case 'gas-leak':
    case 'night-hot-work':
      return byType('hot_work');
    case 'oxygen-deficiency':
    case 'guardian-absent':
      return byType('confined_space');
    case 'high-wind':
      return byType('work_at_height');
    default:
      return undefined;
  }
}

export function* scenarioMessages(layout: SiteLayout, options: ScenarioOptions): Generator<StandardMessage> {
  const rnd = seededRandom(options.seed);
  const incident = incidentArea(layout, options.scenario);
  const onset = Math.floor(options.ticks / 3);
  let seq = 0;
  const header = (deviceId: string, areaId: string, at: number) => ({
    v: 1 as const,
    messageId: `${deviceId}-${options.startMs}-${seq++}`,
    siteId: layout.siteId,
    areaId,
    deviceId,
    observedAt: at,
  });

  for (let tick = 0; tick < options.ticks; tick++) {
    const at = options.startMs + tick * options.tickMs;
    const progress = tick < onset ? 0 : (tick - onset + 1) / Math.max(1, options.ticks - onset);
    // The gateway republishes the permit set periodically, as a real one does after a restart.
    if (tick % 30 === 0) {
      for (const area of layout.areas) {
        yield {
          ...header(layout.gatewayDeviceId, area.areaId, at),
          kind: 'permits',
          permits: { active: [{ permitId: area.permitId, type: area.permitType }] },
        };
      }
    }
    // Normal hours: air warms towards 15:00 and cools at night.
    const hour = localHour(at, options.utcOffsetMinutes ?? 480);
    const daily = 16 + 6 * Math.sin(((hour - 9) / 24) * 2 * Math.PI);
    for (const area of layout.areas) {
      const hit = area === incident && progress > 0;
      const reading = {
        flammableLelPct: round(rnd() * 1.5),
        flammableGasLelVolPct: area.gasLelVolPct,
        o2VolPct: round(20.8 + rnd() * 0.2),
        h2sPpm: round(rnd() * 0.8),
        coPpm: round(rnd() * 4),
        temperatureC: round(daily + rnd() * 2),
        windMs: round(1 + rnd() * 2.5),
      };
      if (hit && options.scenario === 'gas-leak') reading.flammableLelPct = round(2 + progress * 28);
      if (hit && options.scenario === 'oxygen-deficiency') reading.o2VolPct = round(20.9 - progress * 3);
      if (hit && (options.scenario === 'high-wind' || options.scenario === 'night-hot-work')) reading.windMs = round(6 + progress * 6);
      yield { ...header(area.gasDeviceId, area.areaId, at), kind: 'env', reading };

      const behaviour: Behaviour | undefined =
        hit && options.scenario === 'guardian-absent' ? 'guardian_absent' : hit && options.scenario === 'high-wind' ? 'no_harness' : undefined;
      // Everyday sightings that are no alarm on their own: a phone out away from hot work.
      if (!behaviour && area.permitType !== 'hot_work' && rnd() < 0.02) {
        yield {
          ...header(area.cameraDeviceId, area.areaId, at),
          kind: 'ai',
          detection: {
            behaviour: 'phone_use',
            confidence: round(0.5 + rnd() * 0.15),
            bbox: { x: round(rnd() * 0.6), y: round(rnd() * 0.5), w: 0.15, h: 0.3 },
            cameraId: area.cameraDeviceId,
          },
        };
      }
      if (behaviour && tick % 2 === 0) {
        yield {
          ...header(area.cameraDeviceId, area.areaId, at),
          kind: 'ai',
          detection: {
            behaviour,
            confidence: round(0.85 + rnd() * 0.14),
            bbox: { x: round(0.2 + rnd() * 0.3), y: round(0.2 + rnd() * 0.3), w: 0.2, h: 0.4 },
            cameraId: area.cameraDeviceId,
            clipCid: rawCid(`${area.cameraDeviceId}/${at}`),
          },
        };
      }
    }
  }
}
