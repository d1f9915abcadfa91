import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { batchDocumentSchema, MAX_BATCH_ITEMS, MESSAGE_VERSION, messageSchema } from '../src/pipeline/message.js';

/**
 * The message standard as JSON Schema, for vendors and device makers who do not use TypeScript.
 * Generated from the zod schema so the two cannot drift; a test checks the committed files.
 * Cross-field rules (a box inside the frame, at least one value per reading) are stated in the
 * description because JSON Schema cannot express them as written.
 */
const MESSAGE_RULES =
  'a reading has at least one value; flammableGasLelVolPct only with flammableLelPct; bbox.x + bbox.w <= 1 and bbox.y + bbox.h <= 1; ' +
  'sig, when present, is an EIP-191 signature by the device key over the canonical JSON of the message without sig and clip; ' +
  'clip (the clip bytes, base64) only with detection.clipSha256, the sha256 they must hash to.';

export function messageJsonSchema(): Record<string, unknown> {
  return {
    $id: `https://compliance-ledger.invalid/schema/ingest-message-v${MESSAGE_VERSION}.json`,
    title: `Site message, version ${MESSAGE_VERSION}`,
    description:
      'One message per MQTT publish on ledger/v1/{siteId}/{areaId}/{deviceId}/{env|ai|permits}. ' +
      `Also enforced: siteId/areaId/deviceId and kind equal the topic; ${MESSAGE_RULES}`,
    ...z.toJSONSchema(messageSchema, { target: 'draft-2020-12' }),
  };
}

export function batchJsonSchema(): Record<string, unknown> {
  return {
    $id: `https://compliance-ledger.invalid/schema/ingest-batch-v${MESSAGE_VERSION}.json`,
    title: `Batch envelope of site messages, version ${MESSAGE_VERSION}`,
    description:
      "Many site messages in one MQTT publish on ledger/v1/{siteId}/{deviceId}/batch, published by the site's edge gateway {deviceId}. " +
      `items (1 to ${MAX_BATCH_ITEMS}) are site messages in the order observed; each may be of any area and device of the site. ` +
      "Also enforced: the envelope's siteId and deviceId equal the topic's, and every item's siteId equals the envelope's. " +
      'An envelope that fails is refused whole; an item that fails is refused alone (dead-letter store, with its index) and its siblings are processed. ' +
      `Per item, as for single messages: ${MESSAGE_RULES}`,
    ...z.toJSONSchema(batchDocumentSchema, { target: 'draft-2020-12' }),
  };
}

const text = (schema: Record<string, unknown>) => `${JSON.stringify(schema, null, 2)}\n`;
export const messageJsonSchemaText = () => text(messageJsonSchema());
export const batchJsonSchemaText = () => text(batchJsonSchema());

/** The committed files, by name, in the folder `schema/`. */
export const SCHEMA_FILES: Readonly<Record<string, () => string>> = {
  [`message-v${MESSAGE_VERSION}.schema.json`]: messageJsonSchemaText,
  [`batch-v${MESSAGE_VERSION}.schema.json`]: batchJsonSchemaText,
};

// `tsx tools/message-json-schema.ts DIR` rewrites the committed copies.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: message-json-schema.ts OUTPUT_DIR');
  for (const [name, make] of Object.entries(SCHEMA_FILES)) writeFileSync(join(out, name), make());
}
