import type { TopicAddress } from '../mqtt/topics.js';

/**
 * A vendor adapter maps one vendor's payload onto a candidate standard message. The candidate is
 * validated by the standard schema afterwards, so an adapter only converts shapes and units and
 * never needs to repeat range checks. Site, area and device come from the topic, because vendor
 * devices do not know our identifiers.
 */
export type AdapterResult = { ok: true; message: Record<string, unknown> } | { ok: false; reason: string };

export interface VendorAdapter {
  readonly vendor: string;
  adapt(payload: unknown, address: TopicAddress): AdapterResult;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A vendor device (or the signing edge box in front of it) signs, with the device's key, the
 * standard message its payload maps to, and sends that signature as `sig` in its payload; it is
 * checked against the mapped message like any standard message's.
 */
export function signatureOf(payload: unknown): { sig?: unknown } {
  return isRecord(payload) && payload.sig !== undefined ? { sig: payload.sig } : {};
}
