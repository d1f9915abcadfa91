import { z } from 'zod';
import { IDENTIFIER_PATTERN } from '../mqtt/topics.js';
import { BEHAVIOURS, PERMIT_TYPES } from './vocabulary.js';

/**
 * The unified data access standard, version 1: one JSON envelope per MQTT message. Units are
 * fixed by the field names so that no message needs a unit table; vendor payloads with other
 * units are converted by their adapter before they reach this schema.
 */
export const MESSAGE_VERSION = 1;

const identifier = z.string().regex(IDENTIFIER_PATTERN, '1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit');

// CIDv0 (base58btc sha2-256) or CIDv1 in base32, the two forms kubo prints.
const CID = /^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{58,})$/;
export const clipCidSchema = z.string().regex(CID, 'not an IPFS CID (v0 base58 or v1 base32)');

/**
 * Largest clip a camera may send inline with its detection. MQTT carries it in the same message,
 * so the clip and the signed detection arrive (or are redelivered) together; longer recordings go
 * through the gateway's resumable upload instead.
 */
export const MAX_INLINE_CLIP_BYTES = 4 * 1024 * 1024;
const MAX_INLINE_CLIP_BASE64 = Math.ceil(MAX_INLINE_CLIP_BYTES / 3) * 4;

export const readingSchema = z
  .strictObject({
    /** Flammable gas as % of its lower explosive limit (what detectors display). */
    flammableLelPct: z.number().min(0).max(100).optional(),
    /**
     * The LEL of the gas the sensor is calibrated for, in % by volume (methane 5.0, propane 2.1).
     * The permit criterion is in % by volume, so it cannot be judged from % LEL alone.
     */
    flammableGasLelVolPct: z.number().gt(0).max(100).optional(),
    o2VolPct: z.number().min(0).max(100).optional(),
    h2sPpm: z.number().min(0).max(100_000).optional(),
    coPpm: z.number().min(0).max(100_000).optional(),
    temperatureC: z.number().min(-60).max(200).optional(),
    windMs: z.number().min(0).max(100).optional(),
  })
  .refine((r) => Object.values(r).some((v) => v !== undefined), 'a reading needs at least one value')
  .refine((r) => r.flammableGasLelVolPct === undefined || r.flammableLelPct !== undefined, 'flammableGasLelVolPct without flammableLelPct');
export type Reading = z.infer<typeof readingSchema>;

const unit = z.number().min(0).max(1);
export const detectionSchema = z.strictObject({
  behaviour: z.enum(BEHAVIOURS),
  confidence: unit,
  /** Normalised to the frame: x, y of the top-left corner, width and height, all 0..1. */
  bbox: z.strictObject({ x: unit, y: unit, w: unit, h: unit }).refine((b) => b.x + b.w <= 1 + 1e-9 && b.y + b.h <= 1 + 1e-9, 'bounding box leaves the frame'),
  cameraId: identifier,
  clipCid: clipCidSchema.optional(),
  /** sha256 of the clip's bytes, signed with the rest of the message: ingest stores the clip only if its bytes hash to this. */
  clipSha256: z
    .string()
    .regex(/^0x[0-9a-f]{64}$/, '0x followed by 64 lower-case hex characters')
    .optional(),
});
export type Detection = z.infer<typeof detectionSchema>;

export const permitsSchema = z.strictObject({
  /** The complete set active now: each permits message replaces the previous one for its area. */
  active: z.array(z.strictObject({ permitId: z.string().min(1).max(128), type: z.enum(PERMIT_TYPES) })).max(200),
});
export type AreaPermits = z.infer<typeof permitsSchema>;

const header = {
  v: z.literal(MESSAGE_VERSION),
  /** Unique per device; QoS 1 may deliver a message twice and this is how repeats are seen. */
  messageId: z.string().min(1).max(128),
  siteId: identifier,
  areaId: identifier,
  deviceId: identifier,
  /** Milliseconds since the Unix epoch, at the source. */
  observedAt: z.number().int().min(1_500_000_000_000).max(4_102_444_800_000),
  /** Optional EIP-191 signature by the device key over the message without this field. */
  sig: z
    .string()
    .regex(/^0x[0-9a-fA-F]{130}$/)
    .optional(),
};

export const messageSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...header, kind: z.literal('env'), reading: readingSchema }),
  z.strictObject({
    ...header,
    kind: z.literal('ai'),
    detection: detectionSchema,
    /** The clip's bytes, base64; outside the signed text (like `sig`): the signed `detection.clipSha256` binds them. */
    clip: z.base64('base64 of the clip bytes').max(MAX_INLINE_CLIP_BASE64, `a clip sent inline is at most ${MAX_INLINE_CLIP_BYTES} bytes`).optional(),
  }),
  z.strictObject({ ...header, kind: z.literal('permits'), permits: permitsSchema }),
]);
export type StandardMessage = z.infer<typeof messageSchema>;
export type EnvMessage = Extract<StandardMessage, { kind: 'env' }>;
export type AiMessage = Extract<StandardMessage, { kind: 'ai' }>;
export type PermitsMessage = Extract<StandardMessage, { kind: 'permits' }>;

/**
 * Most items in one batch envelope. 1,000 readings of about 300 bytes stay far below brokers'
 * default packet limits, and a batch is acknowledged as a whole, so a redelivery after a crash
 * repeats at most this much work.
 */
export const MAX_BATCH_ITEMS = 1_000;

const batchHeader = {
  v: z.literal(MESSAGE_VERSION),
  kind: z.literal('batch'),
  /** Unique per gateway, for tracing; the items keep their own messageIds. */
  batchId: z.string().min(1).max(128),
  siteId: identifier,
  /** The edge gateway that publishes the batch (the topic's device level). */
  deviceId: identifier,
};

/**
 * A batch envelope: an edge gateway's many standard messages of one site in one MQTT message,
 * in the order observed. The envelope is checked here; each item is checked on its own against
 * `messageSchema`, so one bad item goes to the dead-letter store without its siblings.
 */
export const batchEnvelopeSchema = z.strictObject({
  ...batchHeader,
  items: z.array(z.unknown()).min(1).max(MAX_BATCH_ITEMS),
});
export type BatchEnvelope = z.infer<typeof batchEnvelopeSchema>;

/** The envelope with its items' schema spelled out, for the published JSON Schema. */
export const batchDocumentSchema = z.strictObject({
  ...batchHeader,
  items: z.array(messageSchema).min(1).max(MAX_BATCH_ITEMS),
});
