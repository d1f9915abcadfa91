import { GASMON_GAS_LEL_VOL_PCT } from '../src/adapters/gasmon.js';
import { VISIONBOX_CODES } from '../src/adapters/visionbox.js';
import type { AiMessage, EnvMessage } from '../src/pipeline/message.js';

/**
 * The simulator's vendor mode: standard messages written the way the two vendors' devices write
 * them, so that the adapters are exercised end to end. `messageId` is what the adapter will
 * derive, so a test can match what it sent with what ingest accepted.
 */
export function toGasmon(message: EnvMessage, seq: number): { payload: unknown; messageId: string } {
  const r = message.reading;
  const gas = Object.entries(GASMON_GAS_LEL_VOL_PCT).find(([, lel]) => lel === (r.flammableGasLelVolPct ?? 5))?.[0];
  if (r.flammableLelPct !== undefined && !gas) throw new Error(`gasmon has no gas with LEL ${r.flammableGasLelVolPct} % vol`);
  const channels: unknown[] = [];
  if (r.flammableLelPct !== undefined) channels.push({ ch: 'EX', value: r.flammableLelPct, unit: '%LEL', gas });
  if (r.o2VolPct !== undefined) channels.push({ ch: 'O2', value: r.o2VolPct, unit: '%VOL' });
  // This detector model reports CO in mg/m³ (the adapter converts back to ppm).
  if (r.coPpm !== undefined) channels.push({ ch: 'CO', value: Math.round(((r.coPpm * 28.01) / 24.45) * 100) / 100, unit: 'mg/m3' });
  if (r.h2sPpm !== undefined) channels.push({ ch: 'H2S', value: r.h2sPpm, unit: 'ppm' });
  if (r.temperatureC !== undefined) channels.push({ ch: 'TEMP', value: r.temperatureC, unit: 'C' });
  if (r.windMs !== undefined) channels.push({ ch: 'WS', value: r.windMs, unit: 'm/s' });
  return {
    payload: { sn: message.deviceId, seq, ts: new Date(message.observedAt).toISOString(), channels },
    messageId: `${message.deviceId}-${seq}`,
  };
}

const FRAME = { w: 1920, h: 1080 };

export function toVisionbox(message: AiMessage): { payload: unknown; messageId: string } {
  const d = message.detection;
  const code = Number(Object.entries(VISIONBOX_CODES).find(([, b]) => b === d.behaviour)![0]);
  const x1 = Math.round(d.bbox.x * FRAME.w);
  const y1 = Math.round(d.bbox.y * FRAME.h);
  return {
    payload: {
      eventId: message.messageId,
      cam: d.cameraId,
      event: { code },
      score: Math.round(d.confidence * 100),
      box: [x1, y1, x1 + Math.round(d.bbox.w * FRAME.w), y1 + Math.round(d.bbox.h * FRAME.h)],
      frame: FRAME,
      time: message.observedAt / 1000,
      ...(d.clipCid ? { clip: { cid: d.clipCid } } : {}),
    },
    messageId: message.messageId,
  };
}
