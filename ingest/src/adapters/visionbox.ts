import type { TopicAddress } from '../mqtt/topics.js';
import type { Behaviour } from '../pipeline/vocabulary.js';
import { type AdapterResult, isRecord, signatureOf, type VendorAdapter } from './vendor-adapter.js';

/**
 * "visionbox" AI cameras publish events with numeric codes, scores in percent, pixel corner
 * boxes and Unix seconds:
 *
 *   { "eventId": "e-77", "cam": "CAM-7", "event": { "code": 103 }, "score": 87,
 *     "box": [x1, y1, x2, y2], "frame": { "w": 1920, "h": 1080 }, "time": 1764493200,
 *     "clip": { "cid": "bafy...", "sha256": "0x...", "data": "<base64>" } }
 *
 * `clip.sha256` is signed with the rest of the message; `clip.data` (the bytes) is not, it is
 * checked against that hash.
 */
export const VISIONBOX_CODES: Readonly<Record<number, Behaviour>> = {
  101: 'no_helmet',
  102: 'no_harness',
  103: 'no_protective_clothing',
  104: 'smoking',
  105: 'warning_zone_intrusion',
  106: 'fatigue',
  107: 'guardian_absent',
  108: 'fire_smoke',
  109: 'phone_use',
  110: 'unauthorized_person',
  111: 'person_down',
  112: 'extinguisher_missing',
};

export const visionboxAdapter: VendorAdapter = {
  vendor: 'visionbox',
  adapt(payload: unknown, address: TopicAddress): AdapterResult {
    if (!isRecord(payload)) return { ok: false, reason: 'visionbox: payload is not an object' };
    const { eventId, cam, event, score, box, frame, time, clip } = payload;
    if (typeof eventId !== 'string' || typeof cam !== 'string' || !isRecord(event) || typeof score !== 'number') {
      return { ok: false, reason: 'visionbox: eventId, cam, event and score are required' };
    }
    const behaviour = typeof event.code === 'number' ? VISIONBOX_CODES[event.code] : undefined;
    if (!behaviour) return { ok: false, reason: `visionbox: unknown event code ${String(event.code)}` };
    if (!Array.isArray(box) || box.length !== 4 || !box.every((n) => typeof n === 'number')) {
      return { ok: false, reason: 'visionbox: box must be [x1, y1, x2, y2]' };
    }
    if (!isRecord(frame) || typeof frame.w !== 'number' || typeof frame.h !== 'number' || frame.w <= 0 || frame.h <= 0) {
      return { ok: false, reason: 'visionbox: frame size missing' };
    }
    if (typeof time !== 'number') return { ok: false, reason: 'visionbox: time (Unix seconds) missing' };
    const [x1, y1, x2, y2] = box as [number, number, number, number];
    const detection: Record<string, unknown> = {
      behaviour,
      confidence: score / 100,
      bbox: { x: x1 / frame.w, y: y1 / frame.h, w: (x2 - x1) / frame.w, h: (y2 - y1) / frame.h },
      cameraId: cam,
    };
    if (isRecord(clip) && clip.cid !== undefined) detection.clipCid = clip.cid;
    if (isRecord(clip) && clip.sha256 !== undefined) detection.clipSha256 = clip.sha256;
    return {
      ok: true,
      message: {
        v: 1,
        kind: 'ai',
        messageId: eventId,
        siteId: address.siteId,
        areaId: address.areaId,
        deviceId: address.deviceId,
        observedAt: Math.round(time * 1000),
        detection,
        ...(isRecord(clip) && clip.data !== undefined ? { clip: clip.data } : {}),
        ...signatureOf(payload),
      },
    };
  },
};
