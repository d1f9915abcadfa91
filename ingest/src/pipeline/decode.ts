import type { SignerKeys } from '@compliance-ledger/gate-verifier/secp256k1';
import { formatZodIssues } from '@compliance-ledger/schema';
import { gasmonAdapter } from '../adapters/gasmon.js';
import type { VendorAdapter } from '../adapters/vendor-adapter.js';
import { visionboxAdapter } from '../adapters/visionbox.js';
import { parseTopic } from '../mqtt/topics.js';
import { batchEnvelopeSchema, messageSchema, type StandardMessage } from './message.js';
import { signedByDevice } from './message-signature.js';

export const DEFAULT_ADAPTERS: readonly VendorAdapter[] = [gasmonAdapter, visionboxAdapter];

export interface DecodeOptions {
  topicRoot: string;
  adapters?: readonly VendorAdapter[];
  /** deviceId → lower-case address; a signed message from a device not listed is refused. */
  deviceAddresses?: ReadonlyMap<string, string>;
  /** Tables of signing devices' keys, for a verification faster than a recovery; without: every signer recovered. */
  deviceKeys?: SignerKeys;
  requireSignature?: boolean;
  /** Messages stamped further than this into the future are refused (a device clock is off). */
  maxFutureSkewMs?: number;
  now?: () => number;
}

/** Short codes label the invalid-message metric; the reason text goes to the dead-letter store. */
export type InvalidCode = 'topic' | 'json' | 'adapter' | 'schema' | 'mismatch' | 'signature' | 'clock';

export type Refusal = { ok: false; reason: string; code: InvalidCode };

export type DecodeResult = { ok: true; message: StandardMessage; vendor?: string } | Refusal;

/** One item of a batch envelope: the message, or why it was refused, with the item as sent. */
export type BatchItemResult = ({ ok: true; message: StandardMessage } | Refusal) & { index: number; item: unknown };

/** A single message, or a batch envelope whose items were checked one by one. */
export type DecodedPayload =
  | { ok: true; batch: undefined; message: StandardMessage }
  | { ok: true; batch: { batchId: string; deviceId: string }; items: BatchItemResult[] }
  | Refusal;

// Each device publishes on the same topic again and again; parsing one (three regular
// expressions) costs more than looking it up. Bounded: a flood of new topics only empties it.
const TOPIC_CACHE_LIMIT = 10_000;
const topicCaches = new Map<string, Map<string, ReturnType<typeof parseTopic>>>();

function addressOf(root: string, topic: string): ReturnType<typeof parseTopic> {
  let cache = topicCaches.get(root);
  if (!cache) {
    cache = new Map();
    topicCaches.set(root, cache);
  }
  let address = cache.get(topic);
  if (address === undefined) {
    address = parseTopic(root, topic);
    if (cache.size >= TOPIC_CACHE_LIMIT) cache.clear();
    cache.set(topic, address);
  }
  return address;
}

function parseJson(payload: Uint8Array): { ok: true; body: unknown } | Refusal {
  try {
    // mqtt.js hands over a Buffer already; copying it would cost as much as parsing a reading.
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    return { ok: true, body: JSON.parse(bytes.toString('utf8')) };
  } catch (e) {
    return { ok: false, code: 'json', reason: `payload is not JSON: ${(e as Error).message}` };
  }
}

/**
 * The checks every standard message passes wherever it came from: schema, origin, clock and
 * signature. `origin` is what the topic vouches for (the broker's ACLs protect topics).
 */
function checkMessage(
  body: unknown,
  origin: { siteId: string; areaId: string | undefined; deviceId: string | undefined; kind: string | undefined },
  options: DecodeOptions,
): { ok: true; message: StandardMessage } | Refusal {
  const parsed = messageSchema.safeParse(body);
  if (!parsed.success) return { ok: false, code: 'schema', reason: formatZodIssues(parsed.error) };
  const message = parsed.data;
  if (message.kind === 'ai' && message.clip !== undefined && message.detection.clipSha256 === undefined) {
    return { ok: false, code: 'schema', reason: 'clip bytes without detection.clipSha256: the camera signs the clip by its sha256 in the detection' };
  }

  if (origin.areaId === undefined || origin.deviceId === undefined) {
    if (message.siteId !== origin.siteId) return { ok: false, code: 'mismatch', reason: `item of site ${message.siteId} in a batch of site ${origin.siteId}` };
  } else if (message.siteId !== origin.siteId || message.areaId !== origin.areaId || message.deviceId !== origin.deviceId) {
    return { ok: false, code: 'mismatch', reason: 'site, area or device in the payload differ from the topic' };
  }
  if (origin.kind !== undefined && origin.kind !== message.kind) {
    return { ok: false, code: 'mismatch', reason: `kind ${message.kind} published on channel ${origin.kind}` };
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
    if (message.sig === undefined) {
      return {
        ok: false,
        code: 'signature',
        reason:
          `unsigned message from device ${message.deviceId} refused: this service requires device-signed ` +
          `messages (sig, EIP-191 over the canonical JSON without sig; tools/sign-message.ts); a site without ` +
          `signing devices opts out with INGEST_REQUIRE_SIGNED_MESSAGES=false`,
      };
    }
    const expected = options.deviceAddresses?.get(message.deviceId);
    if (!expected) return { ok: false, code: 'signature', reason: `signed by device ${message.deviceId}, which the device registry file does not list` };
    if (!signedByDevice(message, expected, options.deviceKeys)) {
      return {
        ok: false,
        code: 'signature',
        reason: `signature does not match the key registered for device ${message.deviceId} (forged, or the message was changed after signing)`,
      };
    }
  }
  return { ok: true, message };
}

/** A message on a device topic (standard or a vendor's raw payload). */
export function decodeMessage(topic: string, payload: Uint8Array, options: DecodeOptions): DecodeResult {
  const address = addressOf(options.topicRoot, topic);
  if ('error' in address) return { ok: false, code: 'topic', reason: address.error };
  if (address.channel === 'batch') return { ok: false, code: 'topic', reason: 'a batch topic carries a batch envelope, not one message' };

  const json = parseJson(payload);
  if (!json.ok) return json;
  let body = json.body;

  let vendor: string | undefined;
  if (address.channel === 'raw') {
    const adapter = (options.adapters ?? DEFAULT_ADAPTERS).find((a) => a.vendor === address.vendor);
    if (!adapter) return { ok: false, code: 'adapter', reason: `no adapter for vendor ${address.vendor}` };
    const adapted = adapter.adapt(body, address);
    if (!adapted.ok) return { ok: false, code: 'adapter', reason: adapted.reason };
    body = adapted.message;
    vendor = adapter.vendor;
  }

  const kind = address.channel === 'raw' ? undefined : address.channel;
  const checked = checkMessage(body, { siteId: address.siteId, areaId: address.areaId, deviceId: address.deviceId, kind }, options);
  if (!checked.ok) return checked;
  return vendor ? { ok: true, message: checked.message, vendor } : checked;
}

/**
 * Any payload the layout allows. A batch envelope that is itself wrong (not JSON, another
 * site, too many items) is refused whole; a wrong item is refused alone, with its index.
 */
export function decodePayload(topic: string, payload: Uint8Array, options: DecodeOptions): DecodedPayload {
  const address = addressOf(options.topicRoot, topic);
  if ('error' in address) return { ok: false, code: 'topic', reason: address.error };
  if (address.channel !== 'batch') {
    const single = decodeMessage(topic, payload, options);
    return single.ok ? { ok: true, batch: undefined, message: single.message } : single;
  }

  const json = parseJson(payload);
  if (!json.ok) return json;
  const envelope = batchEnvelopeSchema.safeParse(json.body);
  if (!envelope.success) return { ok: false, code: 'schema', reason: `batch envelope: ${formatZodIssues(envelope.error)}` };
  const { batchId, siteId, deviceId, items } = envelope.data;
  if (siteId !== address.siteId || deviceId !== address.deviceId) {
    return { ok: false, code: 'mismatch', reason: 'site or gateway of the batch envelope differ from the topic' };
  }
  return {
    ok: true,
    batch: { batchId, deviceId },
    // Items may come from any area and device of the site, not from another site.
    items: items.map((item, index): BatchItemResult => {
      const r = checkMessage(item, { siteId, areaId: undefined, deviceId: undefined, kind: undefined }, options);
      return r.ok ? { ok: true, message: r.message, index, item } : { ok: false, code: r.code, reason: r.reason, index, item };
    }),
  };
}
