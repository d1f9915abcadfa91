import { gasmonAdapter } from './adapter-gasmon.js';
import { visionboxAdapter } from './adapter-visionbox.js';
import { describeIssues, messageSchema, type StandardMessage } from './message.js';
import { messageSigner } from './message-signature.js';
import { parseTopic } from './topics.js';
import type { VendorAdapter } from './vendor-adapter.js';

export const DEFAULT_ADAPTERS: readonly VendorAdapter[] = [gasmonAdapter, visionboxAdapter];

export interface DecodeOptions {
  topicRoot: string;
  adapters?: readonly VendorAdapter[];
  /** deviceId → lower-case address; a signed message from a device not listed is refused. */
  deviceAddresses?: ReadonlyMap<string, string>;
  requireSignature?: boolean;
  /** Messages stamped further than this into the future are refused (a device clock is off). */
  maxFutureSkewMs?: number;
  now?: () => number;
}

export type DecodeResult =
  | { ok: true; message: StandardMessage; vendor?: string }
  | { ok: false; reason: string; code: InvalidCode };

/** Short codes label the invalid-message metric; the reason text goes to the dead-letter store. */
export type InvalidCode = 'topic' | 'json' | 'adapter' | 'schema' | 'mismatch' | 'signature' | 'clock';

export function decodeMessage(topic: string, payload: Uint8Array, options: DecodeOptions): DecodeResult {
  const address = parseTopic(options.topicRoot, topic);
  if ('error' in address) return { ok: false, code: 'topic', reason: address.error };

  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (e) {
    return { ok: false, code: 'json', reason: `payload is not JSON: ${(e as Error).message}` };
  }

  let vendor: string | undefined;
  if (address.channel === 'raw') {
    const adapter = (options.adapters ?? DEFAULT_ADAPTERS).find((a) => a.vendor === address.vendor);
    if (!adapter) return { ok: false, code: 'adapter', reason: `no adapter for vendor ${address.vendor}` };
    const adapted = adapter.adapt(body, address);
    if (!adapted.ok) return { ok: false, code: 'adapter', reason: adapted.reason };
    body = adapted.message;
    vendor = adapter.vendor;
  }

  const parsed = messageSchema.safeParse(body);
  if (!parsed.success) return { ok: false, code: 'schema', reason: describeIssues(parsed.error) };
  const message = parsed.data;

  // The topic is what the broker's ACLs protect, so the payload may not claim another origin.
  if (message.siteId !== address.siteId || message.areaId !== address.areaId || message.deviceId !== address.deviceId) {
    return { ok: false, code: 'mismatch', reason: 'site, area or device in the payload differ from the topic' };
  }
  if (address.channel !== 'raw' && address.channel !== message.kind) {
    return { ok: false, code: 'mismatch', reason: `kind ${message.kind} published on channel ${address.channel}` };
  }

  // A wrong device clock would put the reading in the wrong dedup window and the wrong time of
  // day; the past is allowed because queued messages arrive late after an outage.
  if (options.maxFutureSkewMs !== undefined) {
    const ahead = message.observedAt - (options.now ?? Date.now)();
    if (ahead > options.maxFutureSkewMs) {
      return { ok: false, code: 'clock', reason: `observedAt is ${Math.round(ahead / 1000)} s in the future` };
    }
  }

  if (message.sig !== undefined || options.requireSignature) {
    if (message.sig === undefined) return { ok: false, code: 'signature', reason: 'unsigned message refused' };
    const expected = options.deviceAddresses?.get(message.deviceId);
    if (!expected) return { ok: false, code: 'signature', reason: `signed by unknown device ${message.deviceId}` };
    const signer = messageSigner(message);
    if (!signer || signer.toLowerCase() !== expected) {
      return { ok: false, code: 'signature', reason: `signature does not match device ${message.deviceId}` };
    }
  }
  return vendor ? { ok: true, message, vendor } : { ok: true, message };
}
