import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { messageSchema, MESSAGE_VERSION } from './message.js';

/**
 * The message standard as JSON Schema, for vendors and device makers who do not use TypeScript.
 * Generated from the zod schema so the two cannot drift; a test checks the committed file.
 * Cross-field rules (a box inside the frame, at least one value per reading) are stated in the
 * description because JSON Schema cannot express them as written.
 */
export function messageJsonSchema(): Record<string, unknown> {
  return {
    $id: `https://compliance-ledger.invalid/schema/ingest-message-v${MESSAGE_VERSION}.json`,
    title: `Site message, version ${MESSAGE_VERSION}`,
    description:
      'One message per MQTT publish on ledger/v1/{siteId}/{areaId}/{deviceId}/{env|ai|permits}. ' +
      'Also enforced: siteId/areaId/deviceId and kind equal the topic; a reading has at least one value; ' +
      'flammableGasLelVolPct only with flammableLelPct; bbox.x + bbox.w <= 1 and bbox.y + bbox.h <= 1; ' +
      'sig, when present, is an EIP-191 signature by the device key over the canonical JSON of the message without sig.',
    ...z.toJSONSchema(messageSchema, { target: 'draft-2020-12' }),
  };
}

export function messageJsonSchemaText(): string {
  return `${JSON.stringify(messageJsonSchema(), null, 2)}\n`;
}

// `tsx src/message-json-schema.ts FILE` rewrites the committed copy.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: message-json-schema.ts OUTPUT_FILE');
  writeFileSync(out, messageJsonSchemaText());
}
