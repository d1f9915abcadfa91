import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ContentStore } from '@compliance-ledger/content-store';
import type { AlarmClip } from '@compliance-ledger/schema';
import { type AiMessage, MAX_INLINE_CLIP_BYTES } from './message.js';

/** What ingest found for a detection's signed clip; `cid` is empty unless the clip is verified. */
export interface ClipOutcome extends AlarmClip {
  cid: string;
}

/**
 * Checks the clip sent with a camera's detection against the sha256 the camera signed, and puts
 * it into the content store only if it matches: a stored clip is always the one the camera signed.
 * Undefined for a detection that names no signed clip (older cameras, unchanged).
 */
export async function resolveClip(store: ContentStore, message: AiMessage): Promise<ClipOutcome | undefined> {
  const signed = message.detection.clipSha256;
  if (signed === undefined) return undefined;
  if (message.clip === undefined) return { sha256: signed, status: 'missing', cid: '' };
  const bytes = Buffer.from(message.clip, 'base64');
  if (`0x${createHash('sha256').update(bytes).digest('hex')}` !== signed) return { sha256: signed, status: 'mismatch', cid: '' };
  const stored = await store.add(Readable.from([bytes]), MAX_INLINE_CLIP_BYTES, () => new Error(`clip over ${MAX_INLINE_CLIP_BYTES} bytes`));
  // The store hashes what it wrote; a difference would be a storage fault, not the camera's.
  if (`0x${stored.sha256}` !== signed) throw new Error(`the content store wrote clip ${stored.cid} with sha256 ${stored.sha256}, not ${signed}`);
  return { sha256: signed, status: 'verified', cid: stored.cid };
}
