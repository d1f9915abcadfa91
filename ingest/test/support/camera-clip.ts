import { createHash, randomBytes } from 'node:crypto';
import type { AiMessage } from '../../src/pipeline/message.js';

/** How a simulated camera delivers its clip: the bytes it signed, none, or other bytes than it signed. */
export type ClipDelivery = 'attached' | 'missing' | 'mismatch';

export function sha256Hex(bytes: Uint8Array): string {
  return `0x${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Some bytes standing for a short MP4 clip (an ftyp box, then noise). */
export function clipBytes(size = 40_000): Buffer {
  const ftyp = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex');
  return Buffer.concat([ftyp, randomBytes(size - ftyp.length)]);
}

/**
 * An AI camera's detection naming its clip by sha256, as the camera would sign it, with the clip
 * delivered as `delivery` says. `bytes` is what the camera recorded (and signed).
 */
export function detectionWithClip(
  o: { siteId: string; areaId: string; deviceId: string; observedAt: number; behaviour: AiMessage['detection']['behaviour']; confidence?: number },
  delivery: ClipDelivery,
): { message: AiMessage; bytes: Buffer } {
  const bytes = clipBytes();
  const sent = delivery === 'mismatch' ? Buffer.concat([bytes.subarray(0, -1), Buffer.from([bytes.at(-1)! ^ 0xff])]) : bytes;
  const message: AiMessage = {
    v: 1,
    kind: 'ai',
    messageId: `${o.deviceId}-${o.observedAt}`,
    siteId: o.siteId,
    areaId: o.areaId,
    deviceId: o.deviceId,
    observedAt: o.observedAt,
    detection: {
      behaviour: o.behaviour,
      confidence: o.confidence ?? 0.95,
      bbox: { x: 0.1, y: 0.1, w: 0.2, h: 0.4 },
      cameraId: o.deviceId,
      clipSha256: sha256Hex(bytes),
    },
    ...(delivery === 'missing' ? {} : { clip: sent.toString('base64') }),
  };
  return { message, bytes };
}
